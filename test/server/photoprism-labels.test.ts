// Labels from captioning-model output (chat/labels.ts) and the prompt → task mapping
// (chat/tasks.ts), on hand-written model outputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  captionNouns,
  labelName,
  labelsJson,
  labelsOf,
  labelTaskFor,
  mergeLabels,
  titleCase,
} from "../../src/server/chat/labels.js";
import { captionTaskFor, modelPromptFor, taskTokenIn } from "../../src/server/chat/tasks.js";
import { jsonShapeOf } from "../../src/server/chat/json-answer.js";
import { parseKeepAlive } from "../../src/server/routes/ollama.js";
import { usageOf } from "../../src/server/chat/vision.js";

const image = { width: 200, height: 100 };

test("names: Title-Case, articles and punctuation dropped, sentences refused", () => {
  assert.equal(titleCase("red  car"), "Red  Car");
  assert.equal(titleCase("t-shirt"), "T-Shirt");
  assert.equal(titleCase("TV stand"), "TV Stand");
  assert.equal(labelName("  the_golden retriever. "), "Golden Retriever");
  assert.equal(labelName('"a cat"'), "Cat");
  assert.equal(labelName("1girl"), "1girl");
  assert.equal(labelName("their red cars"), "Red Car");
  assert.equal(labelName("people"), "Person");
  assert.equal(labelName("glasses"), "Glasses");
  assert.equal(labelName("bus"), "Bus");
  assert.equal(labelName("123"), undefined);
  assert.equal(labelName("a dog is running across the beach"), undefined);
  assert.equal(labelName(""), undefined);
});

test("<GENERATE_TAGS>: comma-separated tags, most salient first, values in 0..1", () => {
  const labels = labelsOf({ task: "<GENERATE_TAGS>", text: "cat, sofa, indoors,, living_room, cat", image });
  assert.deepEqual(
    labels.map((l) => l.name),
    ["Cat", "Sofa", "Indoors", "Living Room", "Cat"],
  );
  for (const l of labels) {
    assert.ok(l.confidence > 0 && l.confidence <= 1 && l.topicality > 0 && l.topicality <= 1);
  }
  assert.ok(labels[0]!.confidence > labels[3]!.confidence);
  assert.ok(labels[0]!.topicality > labels[3]!.topicality);
});

test("<OD>: one label per class, topicality from the box area, more instances more confident", () => {
  const result = {
    "<OD>": {
      bboxes: [
        [0, 0, 100, 100],
        [100, 0, 200, 50],
        [10, 10, 20, 20],
        [30, 30, 40, 40],
      ],
      labels: ["dog", "car", "person", "person"],
    },
  };
  const labels = labelsOf({ task: "<OD>", text: "dog<loc_0>…", result, image });
  const byName = Object.fromEntries(labels.map((l) => [l.name, l]));
  assert.deepEqual(Object.keys(byName).sort(), ["Car", "Dog", "Person"]);
  assert.equal(byName.Dog!.topicality, 0.5);
  assert.equal(byName.Car!.topicality, 0.25);
  assert.equal(byName.Person!.topicality, 0.1); // tiny boxes: the floor
  assert.ok(byName.Person!.confidence > byName.Dog!.confidence);
  assert.deepEqual(
    labelsOf({ task: "<OD>", text: "", result: { "<OD>": { bboxes: [], labels: [] } }, image }),
    [],
  );
});

test("Kosmos-2 entities: phrases without articles, area of normalised boxes; no entities → caption nouns", () => {
  const entities = [
    {
      phrase: "a snowman",
      span: [12, 21] as [number, number],
      boxes: [[0.2, 0.1, 0.7, 0.9] as [number, number, number, number]],
    },
    {
      phrase: "the fire",
      span: [30, 38] as [number, number],
      boxes: [[0, 0, 0.1, 0.1] as [number, number, number, number]],
    },
  ];
  const labels = labelsOf({ text: "An image of a snowman warming himself by the fire.", entities, image });
  assert.deepEqual(labels, [
    { name: "Snowman", confidence: 0.8, topicality: 0.4 },
    { name: "Fire", confidence: 0.8, topicality: 0.1 },
  ]);
  const fallback = labelsOf({ text: "An image of a man riding a horse on the beach", entities: [], image });
  assert.deepEqual(
    fallback.map((l) => l.name),
    ["Man", "Horse", "Beach"],
  );
  assert.deepEqual(captionNouns("there is a cat's toy and two cats sitting quietly"), ["cat", "toy"]);
  assert.deepEqual(captionNouns("a butterfly near a building, puppies playing with boxes and jeans"), [
    "butterfly",
    "building",
    "puppy",
    "box",
    "jeans",
  ]);
});

test("merging 3 tiles: one entry per name (case-insensitive), highest values, low confidence dropped, sorted", () => {
  const merged = mergeLabels([
    [
      { name: "Cat", confidence: 0.5, topicality: 0.9 },
      { name: "Sofa", confidence: 0.4, topicality: 0.2 },
    ],
    [
      { name: "cat", confidence: 0.8, topicality: 0.3 },
      { name: "Dust", confidence: 0.1, topicality: 0.1 },
    ],
    [{ name: "Lamp", confidence: 0.6, topicality: 0.1 }],
  ]);
  assert.deepEqual(merged, [
    { name: "Cat", confidence: 0.8, topicality: 0.9 },
    { name: "Lamp", confidence: 0.6, topicality: 0.1 },
    { name: "Sofa", confidence: 0.4, topicality: 0.2 },
  ]);
  assert.deepEqual(JSON.parse(labelsJson(merged)).labels[0], {
    name: "Cat",
    confidence: 0.8,
    topicality: 0.9,
  });
});

test("which task serves labels: an explicit label token, the configured task, PromptGen → tags, else <OD>", () => {
  const base = { taskTokens: true, modelNames: ["florence-2", "/m/Florence-2-base"] };
  assert.equal(labelTaskFor(base), "<OD>");
  assert.equal(labelTaskFor({ ...base, modelNames: ["florence-2-promptgen-large"] }), "<GENERATE_TAGS>");
  assert.equal(labelTaskFor({ ...base, configuredTask: "<GENERATE_TAGS>" }), "<GENERATE_TAGS>");
  assert.equal(labelTaskFor({ ...base, configuredTask: "<GENERATE_TAGS>", promptTask: "<OD>" }), "<OD>");
  assert.equal(labelTaskFor({ ...base, promptTask: "<CAPTION>" }), "<OD>");
  assert.equal(labelTaskFor({ ...base, taskTokens: false }), undefined);
});

test("prompt → task: Florence-2 task tokens, free text by keywords; other models keep their own captioning", () => {
  const florence = { arch: "florence-2", taskTokens: true };
  assert.deepEqual(modelPromptFor(florence, "<OD>"), { prompt: "<OD>", task: "<OD>" });
  assert.deepEqual(modelPromptFor(florence, "Please run <MORE_DETAILED_CAPTION> now"), {
    prompt: "<MORE_DETAILED_CAPTION>",
    task: "<MORE_DETAILED_CAPTION>",
  });
  assert.deepEqual(modelPromptFor(florence, "<CAPTION_TO_PHRASE_GROUNDING> a red car"), {
    prompt: "<CAPTION_TO_PHRASE_GROUNDING>a red car",
    task: "<CAPTION_TO_PHRASE_GROUNDING>",
  });
  assert.deepEqual(modelPromptFor(florence, "<GENERATE_TAGS>"), {
    prompt: "<GENERATE_TAGS>",
    task: "<GENERATE_TAGS>",
  });
  assert.equal(modelPromptFor(florence, "Describe this image in one sentence.").task, "<CAPTION>");
  assert.equal(modelPromptFor(florence, undefined).task, "<CAPTION>");
  assert.equal(captionTaskFor("Describe this image in detail"), "<DETAILED_CAPTION>");
  assert.equal(captionTaskFor("Write a paragraph about the photo"), "<MORE_DETAILED_CAPTION>");
  assert.equal(captionTaskFor("Read the text in the image"), "<OCR>");
  assert.deepEqual(modelPromptFor({ arch: "kosmos-2", taskTokens: false }, "What is this?"), {});
  assert.deepEqual(modelPromptFor({ arch: "kosmos-2", taskTokens: false }, "<grounding>A photo of"), {
    prompt: "<grounding>A photo of",
  });
  assert.deepEqual(modelPromptFor({ arch: "blip", taskTokens: false }, "<OD>"), {});
  assert.equal(taskTokenIn("no token"), undefined);
  assert.equal(taskTokenIn("<grounding>x"), undefined); // lower case: not a Florence-2 task token
});

test("JSON shapes, keep_alive durations, token usage", () => {
  assert.equal(jsonShapeOf(undefined), "labels");
  assert.equal(jsonShapeOf({ type: "object", properties: { labels: {} } }), "labels");
  assert.equal(jsonShapeOf({ type: "object", properties: { caption: {} } }), "caption");
  assert.equal(parseKeepAlive(undefined), undefined);
  assert.equal(parseKeepAlive(0), 0);
  assert.equal(parseKeepAlive("0"), 0);
  assert.equal(parseKeepAlive("5m"), 300);
  assert.equal(parseKeepAlive("1h30m"), 5400);
  assert.equal(parseKeepAlive("1500ms"), 1.5);
  assert.equal(parseKeepAlive("-1m"), -60);
  assert.equal(parseKeepAlive(-1), -1);
  assert.throws(() => parseKeepAlive("soon"), /keep_alive/);
  assert.deepEqual(usageOf("florence-2", [2, 0, 5, 6, 2]), { prompt: 1, completion: 4 });
  assert.deepEqual(
    usageOf(
      "kosmos-2",
      Array.from({ length: 91 }, (_, i) => i),
    ),
    { prompt: 71, completion: 20 },
  );
});
