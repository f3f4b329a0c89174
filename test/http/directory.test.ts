/**
 * Directory changes go through the directory service (src/directory.ts), which signs a user out
 * itself after a new password or a deactivation, whoever asked: the service called directly, the
 * API's PATCH /api/users/:id or the 管理 page. Units change field by field through it too.
 */
import { expect } from "chai";
import { Session, Unit, User } from "../../src/db/models.ts";
import { updateUnit, updateUser } from "../../src/directory.ts";
import { useApp, type Client } from "../support/app.ts";
import type { World } from "../support/fixtures.ts";

describe("the directory service", function () {
  this.timeout(60_000);
  const t = useApp({ users: ["admin"] });
  let w: World;
  let admin: Client;
  beforeEach(() => {
    ({ w, as: { admin } } = t);
  });

  const idOf = async (username: string) => (await User.findOne({ username }).lean())!._id.toString();
  const signedIn = async (s: Client) => (await s.agent.get("/api/me")).status === 200;

  describe("ends a user's sessions after a new password or a deactivation", () => {
    it("called directly: every session of the user but the one named ends; a rename ends none", async () => {
      const [one, two, other] = [await t.signIn("lead"), await t.signIn("lead"), await t.signIn("co")];
      const id = await idOf("lead");
      await updateUser({ id: admin.userId }, id, { displayName: "新名字" });
      expect(await signedIn(one)).to.equal(true);
      const kept = (await User.findById(id).lean())!;
      expect(kept.displayName).to.equal("新名字");
      // The session to keep is named by its id: the first agent's, read back from the store.
      const sessions = (await Session.find({ "session.userId": id }).lean()).map((s) => String(s._id));
      expect(sessions).to.have.length(2);
      await updateUser({ id: admin.userId }, id, { password: "another-password-1" }, sessions[0]);
      expect([await signedIn(one), await signedIn(two)].filter(Boolean)).to.have.length(1);
      expect(await signedIn(other)).to.equal(true);
      await updateUser({ id: admin.userId }, id, { active: false });
      expect([await signedIn(one), await signedIn(two)]).to.deep.equal([false, false]);
    });

    it("through PATCH /api/users/:id: a new password and a deactivation sign the user out; the admin stays", async () => {
      const patch = (id: string, body: object) => admin.patch(`/api/users/${id}`, body);
      const lead = await t.signIn("lead");
      const co = await t.signIn("co");
      await patch(await idOf("lead"), { displayName: "联络员甲" }).expect(200);
      expect(await signedIn(lead)).to.equal(true);
      await patch(await idOf("lead"), { password: "another-password-1" }).expect(200);
      expect(await signedIn(lead)).to.equal(false);
      await patch(await idOf("co"), { active: false }).expect(200);
      expect(await signedIn(co)).to.equal(false);
      // The admin's own new password keeps the session that set it, and ends their others.
      const elsewhere = await t.signIn("admin");
      await patch(admin.userId, { password: "admin-password-new" }).expect(200);
      expect(await signedIn(admin)).to.equal(true);
      expect(await signedIn(elsewhere)).to.equal(false);
    });

    it("through the 管理 page: the same", async () => {
      const post = (url: string, form: Record<string, string>) => admin.form(url, form);
      const lead = await t.signIn("lead");
      const co = await t.signIn("co");
      expect((await post(`/admin/users/${await idOf("lead")}/password`, { password: "another-password-1" })).status).to.equal(303);
      expect(await signedIn(lead)).to.equal(false);
      expect(await signedIn(co)).to.equal(true);
      expect((await post(`/admin/users/${await idOf("co")}/active`, { active: "false" })).status).to.equal(303);
      expect(await signedIn(co)).to.equal(false);
      expect(await signedIn(admin)).to.equal(true);
    });
  });

  describe("changes a unit field by field", () => {
    it("keeps what a change leaves out, removes a short name set to null, and merges a robot's left-out secret", async () => {
      const id = w.units.lead;
      await updateUnit(id, { shortName: "环保局", notify: { emails: ["a@example.cn"], webhookUrl: "https://hooks.example.cn/x", webhookSecret: "s".repeat(20), dingtalk: { token: "t".repeat(20), secret: "SEC".repeat(6) } } });
      await updateUnit(id, { notify: { emails: ["b@example.cn"], dingtalk: { token: "u".repeat(20) } } });
      let u = (await Unit.findById(id).lean())!;
      expect(u.shortName).to.equal("环保局");
      expect(u.notify?.emails).to.deep.equal(["b@example.cn"]);
      expect(u.notify?.webhookUrl).to.equal("https://hooks.example.cn/x");
      expect(u.notify?.webhookSecret).to.equal("s".repeat(20));
      expect((u.notify as { dingtalk?: { token: string; secret: string } }).dingtalk).to.include({ token: "u".repeat(20), secret: "SEC".repeat(6) });
      await updateUnit(id, { shortName: null, active: false });
      u = (await Unit.findById(id).lean())!;
      expect(u).to.not.have.property("shortName");
      expect(u.active).to.equal(false);
    });
  });
});
