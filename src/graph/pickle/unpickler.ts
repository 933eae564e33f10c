// A pickle interpreter that never runs anything. It knows the opcodes of protocols 2–5 and builds
// plain values (numbers, strings, lists, tuples, dicts); the only way to reach code — GLOBAL /
// STACK_GLOBAL, then REDUCE / NEWOBJ / BUILD on the result — goes through `PickleRules`, which
// names the few globals it allows and implements each of them in TypeScript. Anything else is
// refused (MODEL_WEIGHTS_UNSAFE) at the opcode that asks for it, naming the global.
//
// The interpreter is a loop over explicit stacks (no recursion), so a deeply nested pickle cannot
// overflow the JavaScript stack; MARK nesting is capped anyway.
import { fail } from "../../errors.js";
import type { ByteInput } from "./input.js";

/** A Python tuple (immutable; distinct from a list). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A dict, OrderedDict or Counter: keys are compared by value for str/int/bool/None, else by identity. */
export class PyDict {
  readonly entries = new Map<unknown, PyValue>();
  constructor(readonly pythonType: string) {}
}

export class PySet {
  readonly items = new Set<unknown>();
}

/** A global the rules allowed, e.g. `torch._utils._rebuild_tensor_v2`. */
export class PyGlobal {
  constructor(readonly path: string) {}
}

/** Something the rules built (a storage, a tensor); opaque to the interpreter. */
export abstract class PyObject {
  abstract readonly pythonType: string;
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | PyObject;

/** What a pickle may do beyond building plain values. */
export interface PickleRules {
  /** The global `module.name`, or undefined when it is not allowed. */
  global(path: string): PyGlobal | undefined;
  /** REDUCE / NEWOBJ with an allowed global as the callable. */
  call(fn: PyGlobal, args: PyValue[]): PyValue;
  /** BUILD on something the rules made; false when that object takes no state. */
  build(target: PyObject, state: PyValue): boolean;
  /** BINPERSID: the persistent id (a tuple starting with "storage") → the object it stands for. */
  persistentLoad(pid: PyTuple): PyValue;
}

/** Deepest MARK nesting accepted (a state dict needs about five). */
export const MAX_MARK_DEPTH = 1000;
const MAX_GLOBAL_NAME = 1024;
const MAX_LONG_BYTES = 1024;
/** One string or bytes value beyond this is no tensor name or metadata. */
export const MAX_ITEM_BYTES = 64 * 1024 * 1024;
/**
 * Values pushed by one pickle (a state dict pushes about 25 per tensor, so 200 000 tensors per
 * file): bounds the memory a pickle of millions of one-byte "new list" opcodes can claim.
 */
export const MAX_PUSHES = 5_000_000;

// Python 2 module names that protocol-2 pickles written by Python 3 still use (fix_imports).
const py2Modules: Record<string, string> = { __builtin__: "builtins", copy_reg: "copyreg" };

/** The Python type name of a value, for messages. */
export function pythonType(v: PyValue): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "bigint") return "int";
  if (typeof v === "string") return "str";
  if (v instanceof Uint8Array) return "bytes";
  if (Array.isArray(v)) return "list";
  if (v instanceof PyTuple) return "tuple";
  if (v instanceof PyDict) return v.pythonType;
  if (v instanceof PySet) return "set";
  if (v instanceof PyGlobal) return v.path;
  return v.pythonType;
}

/** Dict / set key: primitives by value (as Python hashes them), anything else by identity. */
function keyOf(v: PyValue): unknown {
  if (typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  return v;
}

function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) n -= 1n << BigInt(8 * bytes.length);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

const utf8 = new TextDecoder("utf-8");
const le = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/**
 * Runs one pickle from the input's position up to its STOP and returns the object it built.
 * `label` names the file in errors.
 */
export function unpickle(input: ByteInput, rules: PickleRules, label: string): PyValue {
  const unsafe = (what: string) => fail("MODEL_WEIGHTS_UNSAFE", `${label}: its pickle ${what}`);
  const invalid = (what: string) => fail("CHECKPOINT_INVALID", `${label}: ${what}`);

  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();

  let pushes = 0;
  const push = (v: PyValue): void => {
    if (++pushes > MAX_PUSHES) throw invalid(`the pickle builds more than ${MAX_PUSHES} values`);
    stack.push(v);
  };
  /** A string or bytes length, refused before anything that size is read. */
  const length = (n: number | bigint): number => {
    if (n > MAX_ITEM_BYTES)
      throw invalid(`the pickle holds a string of ${n} bytes (more than ${MAX_ITEM_BYTES})`);
    return Number(n);
  };
  const pop = (): PyValue => {
    if (stack.length === 0) throw invalid("the pickle pops from an empty stack (corrupt file?)");
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw invalid("the pickle reads an empty stack (corrupt file?)");
    return stack[stack.length - 1]!;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const outer = marks.pop();
    if (!outer) throw invalid("the pickle closes a MARK it never opened (corrupt file?)");
    stack = outer;
    return items;
  };
  const resolveGlobal = (module: string, name: string): PyGlobal => {
    const path = `${py2Modules[module] ?? module}.${name}`;
    const allowed = rules.global(path);
    if (!allowed) throw unsafe(`imports ${path}`);
    return allowed;
  };
  const call = (fn: PyValue, args: PyValue, opcode: string): PyValue => {
    if (!(fn instanceof PyGlobal))
      throw unsafe(`uses ${opcode} on a ${pythonType(fn)}, which is not callable`);
    if (!(args instanceof PyTuple)) throw invalid(`${opcode} of ${fn.path} without an argument tuple`);
    return rules.call(fn, args.items);
  };
  const str = (v: PyValue, what: string): string => {
    if (typeof v === "string") return v;
    throw invalid(`${what} is a ${pythonType(v)}, not a str`);
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) throw invalid(`the pickle reads memo slot ${i} that was never written (corrupt file?)`);
    return memo.get(i)!;
  };
  const dictTarget = (opcode: string): PyDict => {
    const d = top();
    if (!(d instanceof PyDict)) throw unsafe(`uses ${opcode} on a ${pythonType(d)}`);
    return d;
  };
  const listTarget = (opcode: string): PyValue[] => {
    const l = top();
    if (!Array.isArray(l)) throw unsafe(`uses ${opcode} on a ${pythonType(l)}`);
    return l;
  };

  for (;;) {
    const at = input.position;
    const op = input.byte();
    switch (op) {
      // ---- framing, start and end
      case 0x80: {
        // PROTO
        const proto = input.byte();
        if (proto > 5) throw invalid(`pickle protocol ${proto} is newer than 5`);
        break;
      }
      case 0x95: // FRAME: a length hint; the frame's bytes follow inline
        input.bytes(8);
        break;
      case 0x2e: // STOP
        if (marks.length > 0) throw invalid("the pickle stops inside an open MARK (corrupt file?)");
        return pop();

      // ---- stack and memo
      case 0x28: // MARK
        if (marks.length >= MAX_MARK_DEPTH)
          throw invalid(`the pickle nests deeper than ${MAX_MARK_DEPTH} levels`);
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x71: // BINPUT
        memo.set(input.byte(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(le(input.bytes(4)).getUint32(0, true), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        push(memoGet(input.byte()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(le(input.bytes(4)).getUint32(0, true)));
        break;

      // ---- constants
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        push(le(input.bytes(4)).getInt32(0, true));
        break;
      case 0x4b: // BININT1
        push(input.byte());
        break;
      case 0x4d: // BININT2
        push(le(input.bytes(2)).getUint16(0, true));
        break;
      case 0x8a: // LONG1
        push(decodeLong(input.bytes(input.byte())));
        break;
      case 0x8b: {
        // LONG4
        const n = le(input.bytes(4)).getInt32(0, true);
        if (n < 0 || n > MAX_LONG_BYTES) throw invalid(`an integer of ${n} bytes`);
        push(decodeLong(input.bytes(n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        push(le(input.bytes(8)).getFloat64(0, false));
        break;

      // ---- strings and bytes (lengths are checked against what is left before reading)
      case 0x58: // BINUNICODE
        push(utf8.decode(input.bytes(length(le(input.bytes(4)).getUint32(0, true)))));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8.decode(input.bytes(input.byte())));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8.decode(input.bytes(length(le(input.bytes(8)).getBigUint64(0, true)))));
        break;
      case 0x55: // SHORT_BINSTRING (a Python 2 str: torch.load decodes it as text)
        push(utf8.decode(input.bytes(input.byte())));
        break;
      case 0x54: {
        // BINSTRING
        const n = le(input.bytes(4)).getInt32(0, true);
        if (n < 0) throw invalid("a string of negative length");
        push(utf8.decode(input.bytes(length(n))));
        break;
      }
      case 0x43: // SHORT_BINBYTES
        push(Uint8Array.from(input.bytes(input.byte())));
        break;
      case 0x42: // BINBYTES
        push(Uint8Array.from(input.bytes(length(le(input.bytes(4)).getUint32(0, true)))));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        push(Uint8Array.from(input.bytes(length(le(input.bytes(8)).getBigUint64(0, true)))));
        break;

      // ---- containers
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x74: {
        // TUPLE (popMark() replaces `stack`: take the items before pushing)
        const items = popMark();
        push(new PyTuple(items));
        break;
      }
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: {
        // LIST
        const items = popMark();
        push(items);
        break;
      }
      case 0x61: {
        // APPEND
        const item = pop();
        listTarget("APPEND").push(item);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = listTarget("APPENDS");
        for (const item of items) list.push(item);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new PyDict("dict"));
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new PyDict("dict");
        if (items.length % 2) throw invalid("DICT with an odd number of items");
        for (let i = 0; i < items.length; i += 2) d.entries.set(keyOf(items[i]!), items[i + 1]!);
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        dictTarget("SETITEM").entries.set(keyOf(key), value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = dictTarget("SETITEMS");
        if (items.length % 2) throw invalid("SETITEMS with an odd number of items");
        for (let i = 0; i < items.length; i += 2) d.entries.set(keyOf(items[i]!), items[i + 1]!);
        break;
      }
      case 0x8f: // EMPTY_SET
        push(new PySet());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet)) throw unsafe(`uses ADDITEMS on a ${pythonType(s)}`);
        for (const item of items) s.items.add(keyOf(item));
        break;
      }
      case 0x91: {
        // FROZENSET
        const items = popMark();
        const s = new PySet();
        for (const item of items) s.items.add(keyOf(item));
        push(s);
        break;
      }

      // ---- the only ways to code: each goes through the rules
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = input.line(MAX_GLOBAL_NAME);
        const name = input.line(MAX_GLOBAL_NAME);
        push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = str(pop(), "STACK_GLOBAL's name");
        const module = str(pop(), "STACK_GLOBAL's module");
        push(resolveGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE: callable(*args)
        const args = pop();
        const fn = pop();
        push(call(fn, args, "REDUCE"));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args)
        const args = pop();
        const cls = pop();
        push(call(cls, args, "NEWOBJ"));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs); no allowed class takes keyword arguments
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof PyDict) || kwargs.entries.size > 0) {
          throw unsafe(`uses NEWOBJ_EX with keyword arguments on ${pythonType(cls)}`);
        }
        push(call(cls, args, "NEWOBJ_EX"));
        break;
      }
      case 0x62: {
        // BUILD: obj.__setstate__(state)
        const state = pop();
        const target = top();
        // OrderedDict state is its instance __dict__ (e.g. a state dict's _metadata): not needed.
        if (target instanceof PyDict) {
          if (state !== null && !(state instanceof PyDict) && !(state instanceof PyTuple))
            throw unsafe(`sets a ${pythonType(state)} as the state of a ${target.pythonType}`);
          break;
        }
        if (!(target instanceof PyObject) || !rules.build(target, state))
          throw unsafe(`uses BUILD on a ${pythonType(target)}`);
        break;
      }
      case 0x51: {
        // BINPERSID: only storages may be referenced
        const pid = pop();
        const kind = pid instanceof PyTuple ? pid.items[0] : undefined;
        const kindText = kind instanceof Uint8Array ? String.fromCharCode(...kind) : kind;
        if (!(pid instanceof PyTuple) || kindText !== "storage") {
          throw unsafe(`references a persistent object that is not a storage (${pythonType(pid)})`);
        }
        push(rules.persistentLoad(pid));
        break;
      }
      case 0x50: // PERSID (text form)
      case 0x69: // INST
      case 0x6f: // OBJ
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        throw unsafe(`uses opcode 0x${op.toString(16)}, which no tensor checkpoint needs`);
      default:
        throw invalid(`unknown or unsupported pickle opcode 0x${op.toString(16)} at byte ${at}`);
    }
  }
}
