/** A decoded image: 8-bit RGB, row-major HWC, EXIF orientation already applied. */
export interface RgbImage {
  data: Uint8Array; // length = width * height * 3
  width: number;
  height: number;
}
