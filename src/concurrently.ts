/**
 * Runs `task` on every item, at most `limit` at a time; each lane takes the next item when it is free.
 * The first failure stops the lanes from taking more and is what the returned promise rejects with.
 */
export async function eachConcurrently<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await task(items[i]!, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, Math.floor(limit) || 1), items.length) }, lane));
}
