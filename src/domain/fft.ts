// The discrete Fourier transform, in place: what M/D/c's generating function and the exact
// end-to-end percentiles' convolutions are computed with.

/** In-place radix-2 DFT, X_m = Σ_j x_j e^(−2πijm/n) (n a power of two). */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1
    for (; j & bit; bit >>= 1) j ^= bit
    j ^= bit
    if (i < j) {
      let t = re[i]
      re[i] = re[j]
      re[j] = t
      t = im[i]
      im[i] = im[j]
      im[j] = t
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len
    const half = len / 2
    // Each twiddle once per stage, not once per block.
    for (let k = 0; k < half; k++) {
      const wr = Math.cos(angle * k)
      const wi = Math.sin(angle * k)
      for (let i = k; i < n; i += len) {
        const ar = re[i + half]
        const ai = im[i + half]
        const tr = ar * wr - ai * wi
        const ti = ar * wi + ai * wr
        re[i + half] = re[i] - tr
        im[i + half] = im[i] - ti
        re[i] += tr
        im[i] += ti
      }
    }
  }
}
