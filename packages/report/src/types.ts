/** One named curve (or one group of bars). Points are [x, y]; non-finite values are skipped when drawn. */
export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<readonly [number, number]>
}

export interface ChartSpec {
  readonly id: string
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly xLog?: boolean
  readonly yLog?: boolean
  /** step for CDFs; bar for categorical data (x = category index, labels in xTicks) */
  readonly kind?: "line" | "step" | "bar"
  /** category labels for bar charts */
  readonly xTicks?: ReadonlyArray<string>
  /**
   * Explicit [value, label] ticks for a continuous x axis, replacing the computed ones: the swept
   * memory sizes ("4 GiB"), or percentiles ("p99") on a log axis of 1 / (1 − quantile). The axis
   * spans the ticks and the data.
   */
  readonly xTickMarks?: ReadonlyArray<readonly [number, string]>
  /** how x tick labels read on a continuous axis without xTickMarks (same formats as yFormat) */
  readonly xFormat?: AxisFormat
  /** how y tick labels read: plain numbers (the default), milliseconds as durations, fractions as % */
  readonly yFormat?: AxisFormat
  readonly series: ReadonlyArray<Series>
}

/** The tick label formats every report shares (format.ts): one look for the same unit everywhere. */
export type AxisFormat = "number" | "duration-ms" | "percent"

export interface TableSpec {
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string | number>>
  /** per column; when absent a column is right-aligned if all its cells look numeric */
  readonly align?: ReadonlyArray<"left" | "right">
}

export interface Section {
  readonly heading: string
  /**
   * The key answer of the report: shown first, in a highlighted box (HTML) or as a quote block
   * (Markdown), so that a glance is enough.
   */
  readonly lead?: boolean
  /** plain text (escaped); a blank line (\n\n) separates paragraphs */
  readonly text?: string
  readonly table?: TableSpec
  readonly charts?: ReadonlyArray<ChartSpec>
}

export interface ReportSpec {
  readonly title: string
  readonly subtitle?: string
  /** ISO date, passed in so that rendering never reads the clock */
  readonly generatedAt: string
  /** machine, command, seed ... shown as a key/value list */
  readonly facts?: ReadonlyArray<readonly [string, string]>
  readonly sections: ReadonlyArray<Section>
}
