/**
 * Which page a list shows, the one rule of the 台账, the notices and the 晨报: a page past the last is
 * empty in the API (`pastEnd: "empty"`: a client paging until an empty page stops) and the last page on
 * the HTML pages. A total that is only a lower bound (`more`: a capped count) has no last page.
 */
export type PastEnd = "empty" | "last";

export function pageOf(total: number, paging: { page: number; pageSize: number }, pastEnd: PastEnd = "last", more = false) {
  const pages = Math.max(1, Math.ceil(total / paging.pageSize));
  const past = !more && paging.page > pages;
  return { pages, page: past && pastEnd === "last" ? pages : paging.page, empty: past && pastEnd === "empty" };
}
