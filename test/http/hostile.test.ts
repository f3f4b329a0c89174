/**
 * Issue 20's hostile-input probes against a real web process (src/main.ts web, the heap capped at
 * 192 MB as deployments run it): each once killed the process, stalled it or misled a browser. Each
 * must now get a clear 4xx with a Chinese message, and the process must stay up and keep answering
 * /healthz, during the probe and after it.
 */
import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import { makeWorld, newInspection } from "../support/fixtures.ts";
import { testDbUri } from "../support/hooks.ts";
import { manyFields, multipart, send, zipBombXlsx, type Answer } from "../support/hostile.ts";
import { PASSWORD, makeUsers } from "../support/http.ts";
import { AppProcess, freePort } from "../support/processes.ts";

const HAN = /\p{Script=Han}/u;

describe("hostile input: a clear 4xx, and the process stays up", function () {
  this.timeout(180_000);
  let web: AppProcess | null = null;
  let base = "";
  let caseId = "";
  let env: Record<string, string> = {};

  const start = async () => {
    web = await AppProcess.start("web", env, async () => (await fetch(`${base}/healthz`)).ok);
  };

  before(async () => {
    const w = await makeWorld();
    await makeUsers(w);
    const c = await w.service.createCase(newInspection(), w.office);
    await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" } }, w.office);
    caseId = c._id.toString();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = { MONGODB_URI: testDbUri(), PORT: String(port), SESSION_SECRET: "s".repeat(40), DEMO_SEED: "0", LOG_LEVEL: "warn", LOGIN_ATTEMPTS: "50" };
  });
  // Each probe gets a live process, so one probe that kills it does not fail the others.
  beforeEach(async () => {
    if (!web?.alive) await start();
  });
  after(async () => {
    await web?.kill();
  });

  /** The process is up and answers its health check. */
  const stillUp = async () => {
    expect(web!.alive, `the web process died:\n${web!.log().slice(-2000)}`).to.equal(true);
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);
  };

  /** While `probe` runs, /healthz is asked every 200 ms; every answer must be 200. */
  const watching = async <T>(probe: Promise<T>): Promise<T> => {
    let done = false;
    const checks: (number | string)[] = [];
    const watch = (async () => {
      while (!done) {
        checks.push(await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.status, (e: Error) => e.name));
        await sleep(200);
      }
    })();
    try {
      return await probe;
    } finally {
      done = true;
      await watch;
      expect(checks.filter((s) => s !== 200), "health checks during the probe").to.deep.equal([]);
    }
  };

  const signIn = async (username: string) => {
    const res = await fetch(`${base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password: PASSWORD }) });
    expect(res.status).to.equal(200);
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    return { cookie: res.headers.getSetCookie()[0]!.split(";")[0]!, csrf: csrfToken };
  };

  const apiError = (a: Answer) => (JSON.parse(a.body) as { error: { code: string; message: string; details: Record<string, unknown> } }).error;

  it("finding 1: a zip-bomb .xlsx (one cell inflating to 300 MB) gets 413 from the API and the import page, and memory stays bounded", async () => {
    const bomb = await zipBombXlsx(300);
    expect(bomb.length).to.be.below(1024 * 1024);
    const staff = await signIn("staff");
    const boundary = "----rectiflow-hostile-bomb";
    const body = multipart(boundary, [], { field: "file", name: "清单.xlsx", type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", data: bomb });
    const headers = { cookie: staff.cookie, "x-csrf-token": staff.csrf, "content-type": `multipart/form-data; boundary=${boundary}` };
    const api = await watching(send(`${base}/api/imports?dryRun=true`, { headers, body }));
    expect(api.status).to.equal(413);
    expect(apiError(api).code).to.equal("import_too_large");
    expect(apiError(api).message).to.match(HAN);
    await stillUp();

    const page = await watching(send(`${base}/cases/import?_csrf=${encodeURIComponent(staff.csrf)}`, { headers: { cookie: staff.cookie, "content-type": headers["content-type"] }, body }));
    expect(page.status).to.equal(413);
    expect(page.headers["content-type"]).to.match(/text\/html/);
    expect(page.body).to.contain("解压后");
    await stillUp();
    // The inflated text was never held whole: 300 MB of it would not fit the 192 MB heap, and the process's peak stays far below it.
    expect(web!.peakRssMb()).to.be.below(450);
  });

  it("finding 2: 250 text fields of 1 MB to a case action are refused before the body is read, without a token or with one", async () => {
    const lead = await signIn("lead");
    const boundary = "----rectiflow-hostile-fields";
    const url = `${base}/cases/${caseId}/actions/REPORT_PROGRESS`;
    const headers = { cookie: lead.cookie, "content-type": `multipart/form-data; boundary=${boundary}` };
    const noToken = await watching(send(url, { headers, body: manyFields(boundary, 250, 1024 * 1024) }));
    expect(noToken.status).to.equal(403);
    expect(noToken.body).to.contain("页面已过期或请求来源不明");
    await stillUp();

    // With the token (in the action's query, where it can be checked before the body), the form's limits refuse it.
    const withToken = await watching(send(`${url}?_csrf=${encodeURIComponent(lead.csrf)}`, { headers, body: manyFields(boundary, 250, 1024 * 1024, (i) => (i ? `text${i}` : "text")) }));
    expect(withToken.status).to.equal(413);
    expect(withToken.body).to.match(/表单/);
    await stillUp();
  });

  it("finding 3: a form field with a huge array index is refused at once (400), for a leader and anyone", async () => {
    const leader = await signIn("leader");
    const boundary = "----rectiflow-hostile-index";
    const body = multipart(boundary, [
      ["_csrf", leader.csrf],
      ["existingAttachmentIds[1000000000]", "x"],
    ]);
    const res = await watching(
      send(`${base}/cases/${caseId}/actions/REPORT_PROGRESS?_csrf=${encodeURIComponent(leader.csrf)}`, {
        headers: { cookie: leader.cookie, "content-type": `multipart/form-data; boundary=${boundary}` },
        body,
      }),
    );
    expect(res.status).to.equal(400);
    expect(res.body).to.contain("表单字段名不正确");
    await stillUp();
  });

  it("finding 4: after sign-in, `next` is followed only as a path of this site", async () => {
    const login = async (next: string) => {
      const form = await fetch(`${base}/login?next=${encodeURIComponent(next)}`);
      const cookie = form.headers.getSetCookie()[0]!.split(";")[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
      const res = await fetch(`${base}/login`, {
        method: "POST",
        redirect: "manual",
        headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: csrf, username: "staff", password: PASSWORD, next }).toString(),
      });
      expect(res.status, next).to.equal(303);
      return res.headers.get("location");
    };
    for (const evil of ["/\\evil.example/", "//evil.example/", "/\t/evil.example/", "/\n/evil.example", "https://evil.example/", "javascript:alert(1)", "\\\\evil.example", " /evil", "/cases//evil.example"])
      expect(await login(evil), JSON.stringify(evil)).to.equal("/");
    expect(await login("/cases?state=rectifying&page=2")).to.equal("/cases?state=rectifying&page=2");
    await stillUp();
  });

  it("finding 6: invalid UTF-8 in JSON is refused (400), not stored as U+FFFD", async () => {
    const staff = await signIn("staff");
    const json = Buffer.from(JSON.stringify({ ...newInspection(7), title: "TITLE" }));
    const i = json.indexOf("TITLE");
    const bad = Buffer.concat([json.subarray(0, i), Buffer.from([0x8e, 0xff, 0xc3]), json.subarray(i + 5)]);
    const res = await send(`${base}/api/cases`, { headers: { cookie: staff.cookie, "x-csrf-token": staff.csrf, "content-type": "application/json" }, body: bad });
    expect(res.status).to.equal(400);
    expect(apiError(res).code).to.equal("invalid_utf8");
    expect(apiError(res).message).to.match(HAN);
    const list = (await (await fetch(`${base}/api/cases?q=${encodeURIComponent("ZY2-07")}`, { headers: { cookie: staff.cookie } })).json()) as { total: number };
    expect(list.total).to.equal(0);
    await stillUp();
  });

  it("finding 6: an over-long URL gets a clear answer (414/431 with a Chinese message), not a reset", async () => {
    const staff = await signIn("staff");
    for (const n of [10_000, 70_000]) {
      const res = await send(`${base}/api/cases?q=${"a".repeat(n)}`, { method: "GET", headers: { cookie: staff.cookie } });
      expect(res.status, `${n} characters`).to.be.oneOf([414, 431]);
      expect(apiError(res).message).to.match(HAN);
    }
    const page = await send(`${base}/cases?q=${"a".repeat(10_000)}`, { method: "GET", headers: { cookie: staff.cookie } });
    expect(page.status).to.equal(414);
    expect(page.body).to.contain("请求地址过长");
    await stillUp();
  });

  it("finding 6: inverted deadlineFrom/deadlineTo is refused (422 naming query.deadlineFrom) by the list, the 台账 page and the export", async () => {
    const staff = await signIn("staff");
    const q = "deadlineFrom=2026-12-31&deadlineTo=2026-01-01";
    for (const path of ["/api/cases", "/api/exports/ledger.xlsx"]) {
      const res = await fetch(`${base}${path}?${q}`, { headers: { cookie: staff.cookie } });
      expect(res.status, path).to.equal(422);
      const { error } = (await res.json()) as { error: { details: { fields: { field: string; message: string }[] } } };
      expect(error.details.fields.map((f) => f.field)).to.deep.equal(["query.deadlineFrom"]);
      expect(error.details.fields[0]!.message).to.match(HAN);
    }
    const page = await fetch(`${base}/cases?${q}`, { headers: { cookie: staff.cookie } });
    expect(page.status).to.equal(422);
    expect(await page.text()).to.contain("时限起始日期不能晚于截止日期");
    await stillUp();
  });
});
