import { formatNumber } from "@meshkit/report"

const GiB = 1024 ** 3
const MiB = 1024 ** 2

/** "512 MiB", "4 GiB", "1.5 GiB": memory sizes as the report's text and axes show them. */
export const sizeLabel = (bytes: number): string => {
  if (bytes >= GiB) return `${formatNumber(Number((bytes / GiB).toFixed(2)), 2)} GiB`
  return `${formatNumber(Number((bytes / MiB).toFixed(1)), 1)} MiB`
}
