/**
 * The admin JSON API keeps the rules of the 管理 pages: no admin demotes or deactivates themself, a user's
 * unit must exist, and a unit name is taken once (also on FerretDB, which reports a unique-index
 * violation by an update as code 1, not 11000).
 */
import { expect } from "chai";
import type { Response } from "supertest";
import { Unit, User } from "../../src/db/models.ts";
import { useApp, type Client } from "../support/app.ts";
import type { World } from "../support/fixtures.ts";
import { PASSWORD } from "../support/http.ts";

/** A refusal with this status, field and Chinese message. */
function refused(res: Response, status: number, field: string, message: string) {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.body.error.message).to.contain(message);
  const named = (res.body.error.details.fields as { field: string; message: string }[]).find((f) => f.field === field);
  expect(named?.message, JSON.stringify(res.body)).to.contain(message);
}

describe("admin API (units and users)", function () {
  this.timeout(60_000);
  const t = useApp({ users: ["admin"] });
  let w: World;
  let admin: Client;
  beforeEach(() => {
    ({ w, as: { admin } } = t);
  });

  describe("an admin's own account", () => {
    it("cannot be deactivated by its admin (422, nothing changed, the session stays)", async () => {
      const before = await User.findById(admin.userId).lean();
      for (const id of [admin.userId, admin.userId.toUpperCase()]) {
        refused(await admin.patch(`/api/users/${id}`, { active: false }), 422, "active", "不能停用自己的账号");
        refused(await admin.patch(`/api/users/${id}`, { displayName: "改了名", active: false }), 422, "active", "不能停用自己的账号");
      }
      expect(await User.findById(admin.userId).lean()).to.deep.equal(before);
      expect((await admin.agent.get("/api/me")).status).to.equal(200);
    });

    it("cannot change its own role (422, nothing changed); its name and unchanged role may be saved", async () => {
      const before = await User.findById(admin.userId).lean();
      refused(await admin.patch(`/api/users/${admin.userId}`, { role: "office_staff" }), 422, "role", "不能修改自己的角色");
      refused(await admin.patch(`/api/users/${admin.userId}`, { displayName: "改了名", role: "leader" }), 422, "role", "不能修改自己的角色");
      expect(await User.findById(admin.userId).lean()).to.deep.equal(before);
      expect((await admin.agent.get("/api/users")).status).to.equal(200);

      const ok = await admin.patch(`/api/users/${admin.userId}`, { displayName: "管理员", role: "office_admin", active: true });
      expect(ok.status).to.equal(200);
      expect(ok.body).to.include({ displayName: "管理员", role: "office_admin", active: true });
    });

    it("does not stop an admin from demoting or deactivating another user", async () => {
      const staff = (await User.findOne({ username: "staff" }).lean())!._id.toString();
      expect((await admin.patch(`/api/users/${staff}`, { role: "leader", active: false })).body).to.include({ role: "leader", active: false });
    });
  });

  describe("a user's unit", () => {
    it("must exist when a user is added, whatever the role (422 naming unitId, nobody created)", async () => {
      const before = await User.countDocuments();
      for (const role of ["leader", "office_staff", "office_admin", "unit_user"]) {
        for (const unitId of ["zzz", "000000000000000000000000"]) {
          const res = await admin.post("/api/users", { username: `x-${role}`, displayName: "新用户", password: PASSWORD, role, unitId });
          refused(res, 422, "unitId", "单位不存在或已停用");
        }
      }
      await Unit.updateOne({ _id: w.units.other }, { $set: { active: false } });
      refused(await admin.post("/api/users", { username: "x-gone", displayName: "新用户", password: PASSWORD, role: "leader", unitId: w.units.other }), 422, "unitId", "单位不存在或已停用");
      refused(await admin.post("/api/users", { username: "x-none", displayName: "新用户", password: PASSWORD, role: "unit_user" }), 422, "unitId", "责任单位联络员须选择所属单位");
      expect(await User.countDocuments()).to.equal(before);

      // As on the page, a unit that exists may go with any role.
      expect((await admin.post("/api/users", { username: "x-leader", displayName: "分管领导", password: PASSWORD, role: "leader", unitId: w.units.lead })).body).to.include({ role: "leader", unitId: w.units.lead });
    });

    it("must exist when a user is changed (422 naming unitId, nothing changed)", async () => {
      const staff = await User.findOne({ username: "staff" }).lean();
      const id = staff!._id.toString();
      refused(await admin.patch(`/api/users/${id}`, { role: "leader", unitId: "zzz" }), 422, "unitId", "单位不存在或已停用");
      refused(await admin.patch(`/api/users/${id}`, { role: "unit_user" }), 422, "unitId", "责任单位联络员须选择所属单位");
      expect(await User.findById(id).lean()).to.deep.equal(staff);
    });
  });

  describe("unit names", () => {
    it("refuses renaming a unit to another unit's name (409 in Chinese, nothing changed); its own name is fine", async () => {
      const res = await admin.patch(`/api/units/${w.units.other}`, { name: "市水务局", shortName: "不该保存" });
      refused(res, 409, "name", "单位“市水务局”已存在");
      expect(await Unit.findById(w.units.other).lean()).to.include({ name: "市住建局" }).and.not.have.property("shortName");

      expect((await admin.patch(`/api/units/${w.units.other}`, { name: "市住建局", shortName: "住建局" })).body).to.include({ name: "市住建局", shortName: "住建局" });
      expect((await admin.patch(`/api/units/${w.units.other}`, { name: "市住房和城乡建设局" })).body).to.include({ name: "市住房和城乡建设局" });
      expect((await admin.patch("/api/units/000000000000000000000000", { name: "市水务局" })).status).to.equal(404);
    });

    it("refuses adding a unit under a taken name with the same message", async () => {
      const before = await Unit.countDocuments();
      refused(await admin.post("/api/units", { name: "市水务局" }), 409, "name", "单位“市水务局”已存在");
      expect(await Unit.countDocuments()).to.equal(before);
    });
  });
});
