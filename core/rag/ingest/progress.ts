/** A one-line progress bar on a terminal; silent elsewhere (CI logs, pipes), where only the summary prints. */
export function progressBar(
  stream: NodeJS.WriteStream = process.stderr,
): (done: number, total: number, label: string) => void {
  if (!stream.isTTY) return () => {};
  const width = 30;
  return (done, total, label) => {
    const filled = total === 0 ? width : Math.round((done / total) * width);
    const name = label.length > 40 ? `…${label.slice(-39)}` : label;
    stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${name}\u001b[K`);
    if (done === total) stream.write('\n');
  };
}
