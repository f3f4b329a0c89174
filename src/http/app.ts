/** The express application: web pages and the JSON API grow here; for now health only. */
import express from "express";
import mongoose from "mongoose";

export function createApp() {
  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", async (_req, res) => {
    try {
      await mongoose.connection.db!.admin().ping();
      res.json({ ok: true });
    } catch {
      res.status(503).json({ ok: false, error: { code: "db_unavailable", message: "数据库不可用" } });
    }
  });
  return app;
}
