// SentencePiece models (.model files, a protobuf ModelProto) and the tokenizer.json that transformers'
// XLM-RoBERTa converter (XLMRobertaConverter, 4.40) builds from one: fairseq ids <s>=0 <pad>=1 </s>=2
// <unk>=3, SentencePiece pieces 3… shifted by one, <mask> last; Unigram model; Precompiled + Strip +
// Replace normalizer; Metaspace pre-tokenizer and decoder; `<s> $A </s>` template. Kosmos-2 ships its
// tokenizer this way (sentencepiece.bpe.model).
import { fail } from "../errors.js";
import type { AddedTokenJson, ComponentJson, TokenizerJson } from "./tokenizer-json.js";

export const enum PieceType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export interface SentencePiece {
  piece: string;
  score: number;
  type: PieceType;
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  trainer: {
    modelType: number;
    byteFallback: boolean;
    unkId: number;
    bosId: number;
    eosId: number;
    padId: number;
  };
  normalizer: {
    name: string;
    precompiledCharsmap: Uint8Array;
    addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean;
    escapeWhitespaces: boolean;
  };
}

/** Minimal protobuf reader: varints, fixed32 and length-delimited fields are all a ModelProto uses. */
class ProtoReader {
  pos = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get done(): boolean {
    return this.pos >= this.bytes.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.bytes.length) throw new Error("truncated varint");
      const b = this.bytes[this.pos++]!;
      if (shift < 49) result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  }
  float32(): number {
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  bytesField(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.bytes.length) throw new Error("truncated field");
    const out = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytesField();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
  /** Iterates fields: yields [fieldNumber, wireType]; the caller reads or skips the value. */
  *fields(): Generator<[number, number]> {
    while (!this.done) {
      const key = this.varint();
      yield [Math.floor(key / 8), key & 7];
    }
  }
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

export function parseSentencePieceModel(bytes: Uint8Array): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [],
    // Defaults of sentencepiece_model.proto.
    trainer: { modelType: 1, byteFallback: false, unkId: 0, bosId: 1, eosId: 2, padId: -1 },
    normalizer: {
      name: "",
      precompiledCharsmap: new Uint8Array(0),
      addDummyPrefix: true,
      removeExtraWhitespaces: true,
      escapeWhitespaces: true,
    },
  };
  try {
    const r = new ProtoReader(bytes);
    for (const [field, wire] of r.fields()) {
      if (field === 1 && wire === 2) model.pieces.push(parsePiece(r.bytesField()));
      else if (field === 2 && wire === 2) parseTrainerSpec(r.bytesField(), model.trainer);
      else if (field === 3 && wire === 2) parseNormalizerSpec(r.bytesField(), model.normalizer);
      else r.skip(wire);
    }
  } catch (e) {
    throw fail("TOKENIZER_INVALID", `SentencePiece model does not parse: ${(e as Error).message}`);
  }
  if (model.pieces.length === 0) throw fail("TOKENIZER_INVALID", "SentencePiece model has no pieces");
  return model;
}

function parsePiece(bytes: Uint8Array): SentencePiece {
  const p: SentencePiece = { piece: "", score: 0, type: PieceType.Normal };
  const r = new ProtoReader(bytes);
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === 2) p.piece = utf8.decode(r.bytesField());
    else if (field === 2 && wire === 5) p.score = r.float32();
    else if (field === 3 && wire === 0) p.type = r.varint() as PieceType;
    else r.skip(wire);
  }
  return p;
}

// Signed int32 fields (ids may be -1) come as 64-bit two's complement varints.
const int32 = (v: number) => (v >= 2 ** 31 ? v - 2 ** 64 : v);

function parseTrainerSpec(bytes: Uint8Array, out: SentencePieceModel["trainer"]): void {
  const r = new ProtoReader(bytes);
  for (const [field, wire] of r.fields()) {
    if (wire !== 0) {
      r.skip(wire);
      continue;
    }
    const v = r.varint();
    if (field === 3) out.modelType = v;
    else if (field === 35) out.byteFallback = v !== 0;
    else if (field === 40) out.unkId = int32(v);
    else if (field === 41) out.bosId = int32(v);
    else if (field === 42) out.eosId = int32(v);
    else if (field === 43) out.padId = int32(v);
  }
}

function parseNormalizerSpec(bytes: Uint8Array, out: SentencePieceModel["normalizer"]): void {
  const r = new ProtoReader(bytes);
  for (const [field, wire] of r.fields()) {
    if (field === 1 && wire === 2) out.name = utf8.decode(r.bytesField());
    else if (field === 2 && wire === 2) out.precompiledCharsmap = r.bytesField().slice();
    else if (field === 3 && wire === 0) out.addDummyPrefix = r.varint() !== 0;
    else if (field === 4 && wire === 0) out.removeExtraWhitespaces = r.varint() !== 0;
    else if (field === 5 && wire === 0) out.escapeWhitespaces = r.varint() !== 0;
    else r.skip(wire);
  }
}

const special = (id: number, content: string, lstrip = false): AddedTokenJson => ({
  id,
  content,
  single_word: false,
  lstrip,
  rstrip: false,
  normalized: false,
  special: true,
});

/**
 * The tokenizer.json of transformers' XLMRobertaConverter for this SentencePiece model (without the
 * tokens a tokenizer_config.json adds on top; the caller adds those).
 */
export function xlmRobertaTokenizerJson(sp: SentencePieceModel): TokenizerJson {
  if (sp.trainer.modelType !== 1) {
    throw fail(
      "TOKENIZER_INVALID",
      `SentencePiece model type ${sp.trainer.modelType} (only Unigram models are supported)`,
    );
  }
  const vocab: [string, number][] = [
    ["<s>", 0],
    ["<pad>", 0],
    ["</s>", 0],
    ["<unk>", 0],
  ];
  for (const p of sp.pieces.slice(3)) vocab.push([p.piece, p.score]);
  const maskId = vocab.length;
  vocab.push(["<mask>", 0]);

  const tail: ComponentJson[] = [
    { type: "Strip", strip_left: false, strip_right: true },
    { type: "Replace", pattern: { Regex: " {2,}" }, content: "▁" },
  ];
  const charsmap = sp.normalizer.precompiledCharsmap;
  const normalizer: ComponentJson =
    charsmap.length > 0
      ? {
          type: "Sequence",
          normalizers: [
            { type: "Precompiled", precompiled_charsmap: Buffer.from(charsmap).toString("base64") },
            ...tail,
          ],
        }
      : { type: "Sequence", normalizers: tail };
  const metaspace: ComponentJson = {
    type: "Metaspace",
    replacement: "▁",
    prepend_scheme: "always",
    split: true,
  };
  const tok = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
  const seq = (id: string) => ({ Sequence: { id, type_id: 0 } });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      special(0, "<s>"),
      special(1, "<pad>"),
      special(2, "</s>"),
      special(3, "<unk>"),
      special(maskId, "<mask>", true),
    ],
    normalizer,
    pre_tokenizer: metaspace,
    post_processor: {
      type: "TemplateProcessing",
      single: [tok("<s>"), seq("A"), tok("</s>")],
      pair: [tok("<s>"), seq("A"), tok("</s>"), tok("</s>"), seq("B"), tok("</s>")],
      special_tokens: {
        "<s>": { id: "<s>", ids: [0], tokens: ["<s>"] },
        "</s>": { id: "</s>", ids: [2], tokens: ["</s>"] },
      },
    },
    decoder: { ...metaspace },
    model: { type: "Unigram", unk_id: 3, vocab, byte_fallback: sp.trainer.byteFallback },
  };
}
