/** Ledger routes: the signed checkpoints (for anyone keeping copies) and an entry's inclusion proof. */
import { z } from "zod";
import type { CaseService } from "../../cases/service.ts";
import { AppError, notFound } from "../../errors.ts";
import type { Verifier } from "../../ledger/note.ts";
import { listCheckpoints } from "../../ledger/log.ts";
import { entryProof, latestCheckpoint } from "../../ledger/proofs.ts";
import { qsInt, type Api } from "../api.ts";
import { objectIdParam, ref } from "../contract.ts";

const PAGE = 100;
const off = () => new AppError(404, "no_checkpoint", "尚无存证检查点：本系统未配置检查点签名密钥，或尚未签出第一个检查点");

export function ledgerRoutes(api: Api, deps: { service: CaseService; verifiers: Verifier[]; dir?: string }) {
  const { service, verifiers } = deps;

  api.add({
    method: "get",
    path: "/ledger/checkpoint",
    tag: "ledger",
    summary: "最新的存证检查点（C2SP tlog-checkpoint 签名文本：日志名称、记录数、根哈希，空行后为 Ed25519 签名行）",
    auth: "none",
    returns: "text/plain 签名文本",
    response: { types: ["text/plain"] },
    errors: { 404: "尚无检查点（未配置签名密钥或尚未签出）" },
    async handle({ res }) {
      const cp = verifiers.length ? await latestCheckpoint(verifiers) : null;
      if (!cp) throw off();
      res.type("text/plain; charset=utf-8").send(cp.note);
      return undefined;
    },
  });

  api.add({
    method: "get",
    path: "/ledger/checkpoints",
    tag: "ledger",
    summary: `所有存证检查点，按编号从 from 起，每页 ${PAGE} 个（供领导办公室、督察组等保存副本并核对一致性）`,
    auth: "none",
    query: z.strictObject({ from: qsInt("from", 1, 1_000_000_000).default(1) }),
    returns: "{items: [{n, size, root, signedAt, note, timestamp}], next}",
    response: { schema: ref("CheckpointPage") },
    async handle({ query }) {
      const items = await listCheckpoints(query.from, PAGE + 1);
      const next = items.length > PAGE ? items[PAGE]!.n : null;
      return { items: items.slice(0, PAGE), next };
    },
  });

  api.add({
    method: "get",
    path: "/cases/:id/history/:seq/proof",
    tag: "ledger",
    summary: "一条办理记录的存证证明：它在最新检查点的 RFC 6962 树中的位置、叶子数据与审计路径（能查看该案件的用户）",
    params: { id: objectIdParam("案件"), seq: { pattern: /^[1-9]\d{0,5}$/, what: "办理记录", description: "办理记录的序号（从 1 起）" } },
    returns: "{caseId, seq, leafIndex, treeSize, leafData, leafHash, proof, checkpoint, verified}",
    response: { schema: ref("EntryProof") },
    errors: { 409: "该记录尚未纳入存证检查点（检查点每 10 分钟签出一次）" },
    async handle({ actor, params }) {
      const c = await service.getCase(params.id!, actor);
      const entry = (await service.history(c._id.toString())).find((e) => e.seq === Number(params.seq));
      if (!entry) throw notFound("办理记录");
      const cp = verifiers.length ? await latestCheckpoint(verifiers) : null;
      if (!cp) throw off();
      const p = await entryProof(entry, cp, deps.dir);
      if (!p) throw new AppError(409, "not_yet_covered", "该记录尚未纳入存证检查点，请在下一个检查点签出后再查");
      return {
        caseId: entry.caseId,
        seq: entry.seq,
        leafIndex: p.leafIndex,
        treeSize: p.treeSize,
        leafData: p.leafData.toString("base64"),
        leafHash: p.leafHash.toString("base64"),
        proof: p.proof.map((h) => h.toString("base64")),
        checkpoint: cp.note,
        checkpointNumber: cp.n,
        signedAt: cp.signedAt,
        verified: p.verified,
      };
    },
  });
}
