// Label answers shaped for PhotoPrism: single words when asked, its priority scale, and the NSFW
// fields (including an unsafe image without labels, which must still be flagged).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  asksForSingleWords,
  labelsJson,
  priorityFromTopicality,
  singleWord,
} from "../../src/server/chat/labels.js";
import { asksForNsfwLabels, withNsfwFields, type NsfwAnswer } from "../../src/server/chat/nsfw.js";

const answer = (scores: { Drawing: number; Hentai: number; Neutral: number; Porn: number; Sexy: number }[]) =>
  ({
    model: { name: "nsfwjs-mobilenetv2", variant: "MobileNetV2" },
    verdicts: [],
    scores,
    durations: { load: 0, queue: 0, run: 0 },
  }) as NsfwAnswer;

test("single words: asked for by PhotoPrism's system prompt; the head noun is kept", () => {
  assert.ok(asksForSingleWords("Each label name MUST be a single-word noun in its canonical singular form."));
  assert.ok(asksForSingleWords(undefined, "Use one word per label"));
  assert.ok(!asksForSingleWords("Return labels as short phrases", undefined));
  const l = { confidence: 0.8, topicality: 0.5 };
  assert.equal(singleWord({ ...l, name: "Golden Retriever" }).name, "Retriever");
  assert.equal(singleWord({ ...l, name: "T-Shirt" }).name, "Shirt");
  assert.equal(singleWord({ ...l, name: "Beach" }).name, "Beach");
});

test("priority follows PhotoPrism's PriorityFromTopicality (-2..5)", () => {
  const cases: [number, number][] = [
    [0.97, 5],
    [0.9, 4],
    [0.8, 3],
    [0.6, 2],
    [0.4, 1],
    [0.2, -1],
    [0.1, -2],
    [0, -2],
  ];
  for (const [t, p] of cases) assert.equal(priorityFromTopicality(t), p, String(t));
});

test("NSFW fields: every label carries the images' verdict; an unsafe image without labels gets one", () => {
  assert.ok(asksForNsfwLabels('{"labels":[{"name":"","nsfw":false,"nsfw_confidence":0}]}'));
  assert.ok(
    asksForNsfwLabels(undefined, { properties: { labels: { items: { properties: { nsfw: {} } } } } }),
  );
  assert.ok(!asksForNsfwLabels('{"labels":[{"name":"","confidence":0,"topicality":0}]}', "json"));
  const safe = { Drawing: 0.01, Hentai: 0.01, Neutral: 0.9, Porn: 0.05, Sexy: 0.03 };
  const unsafe = { Drawing: 0, Hentai: 0.02, Neutral: 0.1, Porn: 0.08, Sexy: 0.8 };
  const labels = [{ name: "Beach", confidence: 0.9, topicality: 0.8 }];
  assert.deepEqual(withNsfwFields(labels, answer([safe]), 0.75), [
    { ...labels[0], nsfw: false, nsfw_confidence: 0.05 },
  ]);
  // Three tiles: the highest unsafe score of any of them.
  assert.deepEqual(withNsfwFields(labels, answer([safe, unsafe, safe]), 0.75)[0], {
    ...labels[0],
    nsfw: true,
    nsfw_confidence: 0.8,
  });
  assert.deepEqual(withNsfwFields([], answer([unsafe]), 0.75), [
    { name: "Sexy", confidence: 0.8, topicality: 0.8, nsfw: true, nsfw_confidence: 0.8 },
  ]);
  assert.deepEqual(withNsfwFields([], answer([safe]), 0.75), []);
  assert.equal(
    labelsJson(withNsfwFields(labels, answer([safe]), 0.75)),
    '{"labels":[{"name":"Beach","confidence":0.9,"topicality":0.8,"nsfw":false,"nsfw_confidence":0.05}]}',
  );
});
