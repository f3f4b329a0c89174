/** Every comment that cites the domain points at a section of docs/domain.md that exists. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";

const ROOT = new URL("../../", import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return files(path);
    return /\.(ts|hbs)$/.test(name) ? [path] : [];
  });
}

describe("docs/domain.md", () => {
  it("has every section the code cites, and no comment cites a DOMAIN.md the repository lacks", () => {
    const anchors = new Set([...readFileSync(join(ROOT, "docs/domain.md"), "utf8").matchAll(/<a id="([a-z-]+)"><\/a>/g)].map((m) => m[1]));
    const cited: string[] = [];
    const stale: string[] = [];
    for (const f of ["src", "workflows", "test", "scripts", "bench", "views"].flatMap(files)) {
      const text = readFileSync(join(ROOT, f), "utf8");
      for (const m of text.matchAll(/docs\/domain\.md#([a-z-]+)/g)) if (!anchors.has(m[1])) cited.push(`${f}: #${m[1]}`);
      if (/(?<!shared\/)DOMAIN\.md/.test(text) && f !== "test/docs/domain.test.ts") stale.push(f);
    }
    expect(anchors.size).to.be.greaterThan(10);
    expect(cited, "sections cited but missing").to.deep.equal([]);
    expect(stale, "files citing DOMAIN.md").to.deep.equal([]);
  });
});
