import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { parse } from "yaml";

const run = promisify(execFile);

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition?: string }>;
  volumes?: string[];
  healthcheck?: { test?: unknown };
  restart?: string;
}

describe("docker-compose.yml", () => {
  let services: Record<string, Service>;
  before(async () => {
    // With the YAML merge keys resolved, as Compose reads them.
    services = (parse(await readFile("docker-compose.yml", "utf8"), { merge: true }) as { services: Record<string, Service> }).services;
  });
  const named = (test: (s: Service) => boolean) =>
    Object.entries(services)
      .filter(([, s]) => test(s))
      .map(([n]) => n);
  const appKind = (s: Service) => (s.command?.join(" ").match(/src\/main\.ts (\w+)$/) ?? [])[1];

  it("passes dclint (Compose schema and its style rules) without a single finding", async function () {
    this.timeout(60_000);
    const { stdout, stderr } = await run("npx", ["dclint", "docker-compose.yml"]).catch((e) => {
      throw new Error(`dclint failed:\n${e.stdout}${e.stderr}`);
    });
    expect(`${stdout}${stderr}`.trim()).to.equal("");
  });

  it("runs a three-member MongoDB 7 replica set, initiated by one member naming all three", () => {
    const mongos = named((s) => s.image === "mongo:7");
    expect(mongos).to.deep.equal(["mongo1", "mongo2", "mongo3"]);
    for (const m of mongos) expect(services[m]!.command!.join(" ")).to.contain("--replSet rs0");
    const initiating = named((s) => JSON.stringify(s.healthcheck?.test ?? "").includes("rs.initiate"));
    expect(initiating).to.deep.equal(["mongo1"]);
    const script = JSON.stringify(services.mongo1!.healthcheck!.test);
    for (const m of mongos) expect(script).to.contain(`host: '${m}:27017'`);
    expect(services.mongo1!.depends_on).to.deep.equal({ mongo2: { condition: "service_healthy" }, mongo3: { condition: "service_healthy" } });
  });

  it("runs two web and two worker processes from one image, on the replica set with w=majority and Redis", () => {
    expect(named((s) => appKind(s) === "web")).to.deep.equal(["web1", "web2"]);
    expect(named((s) => appKind(s) === "worker")).to.deep.equal(["worker1", "worker2"]);
    const apps = named((s) => appKind(s) !== undefined).map((n) => services[n]!);
    expect(new Set(apps.map((s) => s.image)).size).to.equal(1);
    for (const s of apps) {
      expect(s.build).to.equal(".");
      const uri = /^mongodb:\/\/([^/]+)\/(\w+)\?(.+)$/.exec(s.environment!.MONGODB_URI!);
      expect(uri, s.environment!.MONGODB_URI).to.not.equal(null);
      expect(uri![1]!.split(",")).to.deep.equal(["mongo1:27017", "mongo2:27017", "mongo3:27017"]);
      const params = new URLSearchParams(uri![3]);
      expect(params.get("replicaSet")).to.equal("rs0");
      expect(params.get("w")).to.equal("majority");
      expect(s.environment!.REDIS_URL).to.equal("redis://redis:6379");
      // Several web processes share sessions only with one signing secret; Compose refuses to start without it.
      expect(s.environment!.SESSION_SECRET).to.match(/^\$\{SESSION_SECRET:\?/);
      // Behind the TLS terminator and nginx: two proxies, and the session cookie only over https.
      expect(s.environment!.TRUST_PROXY).to.equal("2");
      expect(s.environment!.COOKIE_SECURE).to.equal("1");
      expect(Object.keys(s.depends_on!).sort()).to.deep.equal(["mongo1", "mongo2", "mongo3", "redis"]);
      // A process that dies (a crash, the heap limit) is started again by Docker; the others go on.
      expect(s.restart).to.equal("unless-stopped");
    }
  });

  it("puts nginx in front of both web processes, passing X-Forwarded-For and the terminator's X-Forwarded-Proto, with the upload limit of the app", async () => {
    const nginx = services.nginx!;
    expect(nginx.image).to.match(/^nginx:1\.\d+/);
    expect(Object.keys(nginx.depends_on!).sort()).to.deep.equal(["web1", "web2"]);
    const mount = nginx.volumes!.find((v) => v.includes("nginx.conf"))!;
    expect(mount).to.match(/^\.\/deploy\/nginx\.conf\.template:\/etc\/nginx\/templates\/default\.conf\.template:ro$/);
    const conf = await readFile("deploy/nginx.conf.template", "utf8");
    expect(conf).to.match(/upstream rectiflow_web \{[^}]*server web1:3000[^}]*server web2:3000[^}]*\}/);
    expect(conf).to.contain("proxy_pass http://rectiflow_web;");
    expect(conf).to.contain("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;");
    // The terminator's X-Forwarded-Proto passed on (nginx's own $scheme is http behind it).
    expect(conf).to.match(/map \$http_x_forwarded_proto \$forwarded_proto \{\s*default \$http_x_forwarded_proto;\s*""\s+\$scheme;\s*\}/);
    expect(conf).to.contain("proxy_set_header X-Forwarded-Proto $forwarded_proto;");
    // The template is filled from the same variable the web processes read.
    expect(conf).to.match(/client_max_body_size \$\{MAX_UPLOAD_MB\}m;/);
    expect(nginx.environment!.MAX_UPLOAD_MB).to.equal(services.web1!.environment!.MAX_UPLOAD_MB);
    expect(JSON.stringify(nginx.healthcheck!.test)).to.contain("/nginx-health");
    expect(conf).to.contain("location = /nginx-health");
  });

  it("runs Redis 7 with AOF and noeviction", () => {
    const redis = services.redis!;
    expect(redis.image).to.equal("redis:7");
    const command = redis.command!.join(" ");
    expect(command).to.contain("--appendonly yes").and.contain("--maxmemory-policy noeviction");
  });

  it("has a health check on every service, and starts each after what it needs is healthy", () => {
    expect(Object.keys(services)).to.have.length(9);
    for (const [name, s] of Object.entries(services)) {
      expect(s.healthcheck?.test, name).to.be.an("array").that.is.not.empty;
      for (const [dep, d] of Object.entries(s.depends_on ?? {})) expect(d.condition, `${name} → ${dep}`).to.equal("service_healthy");
    }
  });
});
