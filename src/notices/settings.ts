/**
 * The office's particulars on its documents (GB/T 9704 公文: 发文机关标志, 署名, 联系人 and 联系电话 in
 * the 附注, 抄送), and what it calls the close-out check (现场核查 or 验收). One document, edited by the
 * office admin; until then the issuing office of the configuration stands everywhere.
 */
import { z } from "zod";
import type { Actor } from "../../workflows/index.ts";
import { OfficeSettingsModel } from "../db/models.ts";
import { forbidden, fromZod } from "../errors.ts";

export const VERIFICATION_TERMS = ["现场核查", "验收"] as const;

export interface OfficeSettings {
  issuerMark: string;
  signer: string;
  contactName: string;
  contactPhone: string;
  cc: string;
  verificationTerm: (typeof VERIFICATION_TERMS)[number];
}

const ID = "office";
/** The issuing office of the configuration (ISSUING_OFFICE), for an office that has not entered its settings. */
let defaultOffice = "市生态环境保护督察整改工作领导小组办公室";
export function setDefaultOffice(office: string): void {
  defaultOffice = office;
}

const defaults = (): OfficeSettings => ({ issuerMark: defaultOffice, signer: defaultOffice, contactName: "", contactPhone: "", cc: "", verificationTerm: "现场核查" });

export async function loadSettings(): Promise<OfficeSettings> {
  const d = await OfficeSettingsModel.findById(ID).lean();
  if (!d) return defaults();
  return {
    issuerMark: d.issuerMark,
    signer: d.signer,
    contactName: d.contactName ?? "",
    contactPhone: d.contactPhone ?? "",
    cc: d.cc ?? "",
    verificationTerm: (VERIFICATION_TERMS as readonly string[]).includes(d.verificationTerm ?? "") ? (d.verificationTerm as OfficeSettings["verificationTerm"]) : "现场核查",
  };
}

const line = (what: string, max: number) => z.string({ error: `请填写${what}` }).trim().max(max, { error: `${what}不能超过 ${max} 个字` });
export const settingsSchema = z
  .object({
    issuerMark: line("发文机关标志", 40).min(1, { error: "请填写发文机关标志" }),
    signer: line("发文机关署名", 40).min(1, { error: "请填写发文机关署名" }),
    contactName: line("联系人", 20),
    contactPhone: line("联系电话", 40).refine((v) => v === "" || /^[0-9（）()\-－ 转+]{5,40}$/.test(v), { error: "联系电话只能包含数字、括号、连字符和“转”" }),
    cc: line("抄送", 200),
    verificationTerm: z.enum(VERIFICATION_TERMS, { error: "销号核查的称谓应为“现场核查”或“验收”" }),
  })
  .strict();

/** Saves the settings (office admin only); documents issued from now on carry them. */
export async function updateSettings(input: unknown, actor: Actor): Promise<OfficeSettings> {
  if (actor.role !== "office_admin") throw forbidden("只有整改办管理员可以修改系统设置");
  const parsed = settingsSchema.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  await OfficeSettingsModel.updateOne({ _id: ID }, { $set: { ...parsed.data, updatedBy: actor.id } }, { upsert: true });
  return parsed.data;
}
