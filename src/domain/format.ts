// Figures as people read them: shared by the grade, the reports and the web app (no dependencies).

/** An availability as a percentage with as many digits as its nines need: 99.9%, 99.95%, 99.9999%. */
export function availabilityPct(fraction: number): string {
  const down = 1 - fraction
  if (down <= 1e-9) return '100%'
  const digits = Math.min(8, Math.max(1, Math.ceil(-Math.log10(down) - 1e-9) - 1))
  return `${(fraction * 100)
    .toFixed(digits)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '')}%`
}
