/**
 * A numeric command-line option within [min, max]; anything else ends the benchmark with exit 2 and
 * a line that names the option, before anything was started.
 */
export function numberArg(
  bench: string,
): (name: string, value: string | undefined, min: number, max: number) => number {
  return (name, value, min, max) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) {
      console.error(`${bench}: --${name} must be a number from ${min} to ${max} (got ${value})`);
      process.exit(2);
    }
    return n;
  };
}
