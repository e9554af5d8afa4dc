/**
 * Okabe–Ito colours, ordered so that neighbouring series differ in hue and lightness; the yellow
 * (hard to see on white) comes last. Safe for the common forms of colour blindness.
 */
export const PALETTE: ReadonlyArray<string> = [
  "#0072B2", // blue
  "#D55E00", // vermillion
  "#009E73", // bluish green
  "#CC79A7", // reddish purple
  "#E69F00", // orange
  "#56B4E9", // sky blue
  "#000000", // black
  "#B8A300" // yellow, darkened to stay visible on white
]

/** Dash patterns cycle after the colours run out, so the 9th series never looks like the 1st. */
const DASHES: ReadonlyArray<string | undefined> = [undefined, "7 4", "2 3", "9 3 2 3"]

export interface SeriesStyle {
  readonly color: string
  readonly dash: string | undefined
}

export const seriesStyle = (index: number): SeriesStyle => ({
  color: PALETTE[index % PALETTE.length]!,
  dash: DASHES[Math.floor(index / PALETTE.length) % DASHES.length]
})
