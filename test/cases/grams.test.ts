import { expect } from "chai";
import { MAX_GRAMS, TRUNCATED, bigrams, gramsOf, searchGrams } from "../../src/cases/grams.ts";

describe("Search bigrams", () => {
  it("are the distinct pairs of neighbouring characters, in order of first appearance", () => {
    expect(bigrams("燃煤锅炉")).to.deep.equal(["燃煤", "煤锅", "锅炉"]);
    expect(bigrams("锅炉锅炉")).to.deep.equal(["锅炉", "炉锅"]);
    expect(bigrams("")).to.deep.equal([]);
    expect(bigrams("锅")).to.deep.equal([]);
  });

  it("never span whitespace, punctuation or symbols, full-width or not", () => {
    expect(bigrams("2026-督-015")).to.deep.equal(["20", "02", "26", "01", "15"]);
    expect(bigrams("城东，西山　村")).to.deep.equal(["城东", "西山"]);
    expect(bigrams("噪声（夜间）+扬尘")).to.deep.equal(["噪声", "夜间", "扬尘"]);
  });

  it("fold full-width forms to half-width and letters to lower case", () => {
    expect(bigrams("ＰＭ２．５超标")).to.deep.equal(bigrams("pm2.5超标"));
    expect(bigrams("VOCs")).to.deep.equal(["vo", "oc", "cs"]);
    expect(bigrams("Ａ区")).to.deep.equal(["a区"]);
    // Letters whose case folding is not plain lower case: the long s folds as s does, ß stays one character.
    expect(bigrams("ſK")).to.deep.equal(bigrams("sk"));
    expect(bigrams("ßa")).to.deep.equal(["ßa"]);
  });

  it("take characters outside the basic plane whole", () => {
    expect(bigrams("𠀀𠀁")).to.deep.equal(["𠀀𠀁"]);
  });

  it("of a case: title, ledger number and description together, at most MAX_GRAMS and the mark of those left out", () => {
    expect(gramsOf({ title: "锅炉", ledgerNumber: "ZY-01", description: "锅炉房" })).to.deep.equal(["锅炉", "zy", "01", "炉房"]);
    expect(gramsOf({ title: "锅炉", ledgerNumber: null, description: null })).to.deep.equal(["锅炉"]);
    const long = Array.from({ length: MAX_GRAMS + 10 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join("");
    const grams = gramsOf({ title: "标题", ledgerNumber: "1", description: long });
    expect(grams).to.have.length(MAX_GRAMS + 1);
    expect(grams[0]).to.equal("标题");
    expect(grams.at(-1)).to.equal(TRUNCATED);
    // Exactly MAX_GRAMS bigrams: nothing left out, no mark.
    const exact = Array.from({ length: MAX_GRAMS + 1 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join("");
    expect(gramsOf({ title: exact })).to.have.length(MAX_GRAMS).and.not.include(TRUNCATED);
  });

  it("of a search: none for one character or one-character runs, at most twelve otherwise", () => {
    expect(searchGrams("督")).to.equal(null);
    expect(searchGrams(" a b ")).to.equal(null);
    expect(searchGrams("  锅炉 ")).to.deep.equal(["锅炉"]);
    expect(searchGrams("城区部分燃煤锅炉淘汰不彻底的问题依然存在")).to.have.length(12);
  });
});
