/**
 * The bounds of talking to image providers, units last. A provider is a remote party we do not
 * control: every byte it sends is capped before it is buffered, every wait it asks for is capped
 * before we honour it, and every image it returns is sized and checked before it is decoded in full.
 *
 * The sizes come from what the providers actually return: the largest hosted image is 1792×1024
 * (DALL·E 3) or 1536×1024 (gpt-image), a PNG of that is 2–6 MB, and base64 adds a third, so
 * a 32 MiB response is several times the worst honest answer while still fitting comfortably in
 * memory with a few generations in flight.
 */
export const providerLimits = {
  /** A provider's JSON response; several times the largest honest answer (one base64 PNG). */
  responseBytesMax: 32 * 1024 * 1024,
  /** Decoded image bytes; a response cap of 32 MiB carries at most 24 MiB of base64 payload. */
  imageBytesMax: 24 * 1024 * 1024,
  /** Bytes of an error response read for its message; the rest is discarded unread. */
  errorBodyBytesMax: 8 * 1024,
  /** Characters of a provider's error message kept in ours: enough to diagnose, short to log. */
  errorExcerptCharsMax: 200,
  /** A provider asking for a longer pause than this is treated as asking for this (10 minutes). */
  retryAfterMsMax: 10 * 60 * 1000,
  /**
   * Pixels an input image may claim before it is decoded: 4096² is about nine times the largest
   * honest image, and stops a small file that expands to gigabytes (a decompression bomb).
   */
  inputPixelsMax: 4096 * 4096,
  /** The largest frame side we produce (frames are at most 1280 wide); a bigger target is a caller's bug. */
  frameSidePixelsMax: 4096,
  /** Images smaller than this on either side are an error page or a thumbnail, not a frame. */
  imageSidePixelsMin: 64,
  /**
   * A picture whose every channel varies less than this (standard deviation, 0–255 scale) is a
   * solid fill: what safety filters return in place of a refused image (Stable Diffusion's is
   * black). Real art, even a calm gradient, varies by tens.
   */
  solidFillStandardDeviationMax: 2,
  /**
   * The long side of the copy of a fitted frame checked for a solid fill: at 256 pixels (~37,000 of
   * them, read in ~0.1 ms) art's tens still show, and variation finer than that reads as flat, as
   * it does on screen.
   */
  solidFillCheckSidePixels: 256,
  /** The longest side asked of Stable Diffusion: SDXL is trained at about 1024² and tiles beyond. */
  stableDiffusionSidePixelsMax: 1024,
  /** The shortest prompt limit among the OpenAI image models (DALL·E 2); ours are far shorter. */
  openaiPromptCharsMax: 1000,
  /** Stable Diffusion prompts beyond this are past what the text encoder reads (77 tokens, chunked). */
  stableDiffusionPromptCharsMax: 2000,
  /** The slowest simulated local render; a demo delay longer than any generation deadline is a mistake. */
  localDelayMsMax: 600_000,
} as const;
