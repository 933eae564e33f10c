// Shared fixture access for the Kosmos-2 tests.
import { resolve } from "node:path";
import { fixtureBin, maxAbsDiff, readExpected } from "../../helpers/fixtures.js";

export const FIXTURE = resolve(process.cwd(), "../shared/fixtures/kosmos-2");

export const expected: Record<string, any> = readExpected("kosmos-2");

/** A float32 .bin of the fixture. */
export const readBin = (file: string): Float32Array => fixtureBin("kosmos-2", file);

export { maxAbsDiff };
