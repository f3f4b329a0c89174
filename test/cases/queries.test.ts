import { expect } from "chai";
import mongoose from "mongoose";
import { SORTS, caseListQuery, pageAmongFew } from "../../src/cases/queries.ts";
import { Case, type CaseDoc } from "../../src/db/models.ts";
import { resetLedger } from "../support/fixtures.ts";
import { insertSyntheticCases } from "../support/synthetic.ts";

describe("Ledger pages", () => {
  const now = new Date();
  const units = Array.from({ length: 4 }, () => new mongoose.Types.ObjectId().toString());
  const office = { id: "o", name: "整改办", role: "office_staff", unitId: null } as const;
  before(async () => {
    await resetLedger();
    await insertSyntheticCases(Case.collection, 300, { units, now });
  });
  after(resetLedger);

  it("a page chosen among few matches in memory is the page the database's own sort gives, for every sort", async () => {
    const ids = (docs: CaseDoc[]) => docs.map((d) => d._id.toString());
    for (const sort of SORTS)
      for (const page of [1, 2, 6]) {
        const paging = { page, pageSize: 50, sort };
        const { page: query, filter } = caseListQuery(office, {}, paging, now);
        expect(ids(await pageAmongFew(filter, paging)), `${sort}, page ${page}`).to.deep.equal(ids(await query.lean<CaseDoc[]>()));
      }
  });
});
