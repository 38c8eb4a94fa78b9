import { describe, expect, it } from "vitest";

import { anchoredScroll, clampZoom, fitZoom, MAX_ZOOM, MIN_ZOOM } from "./Viewport";

describe("the canvas's zoom", () => {
  it("fits the whole drawing in the view, never above actual size", () => {
    expect(fitZoom({ width: 2400, height: 600 }, { width: 1200, height: 800 })).toBe(0.5);
    expect(fitZoom({ width: 800, height: 1600 }, { width: 1200, height: 800 })).toBe(0.5);
    expect(fitZoom({ width: 300, height: 200 }, { width: 1200, height: 800 })).toBe(1);
    expect(fitZoom({ width: 100_000, height: 100 }, { width: 1000, height: 800 })).toBe(MIN_ZOOM);
    expect(fitZoom({ width: 0, height: 0 }, { width: 1000, height: 800 })).toBe(1);
  });

  it("stays within its bounds", () => {
    expect(clampZoom(50)).toBe(MAX_ZOOM);
    expect(clampZoom(0)).toBe(MIN_ZOOM);
    expect(clampZoom(0.75)).toBe(0.75);
  });

  it("keeps the point under the pointer in place", () => {
    // At 100%, scrolled 200 px, the pointer 100 px in: drawing x = 300. At 200% that is 600,
    // so the view scrolls to 500 to keep it 100 px in.
    expect(anchoredScroll(200, 100, 1, 2)).toBe(500);
    expect(anchoredScroll(500, 100, 2, 1)).toBe(200);
    expect(anchoredScroll(0, 0, 1, 0.5)).toBe(0);
  });
});
