// A short integrator's flow against types generated from the served document
// (openapi-typescript -> generated/schema.d.ts) with openapi-fetch. tests/clients type-checks it
// with `tsc --strict`: a document change that breaks these calls fails the suite.
import createClient from "openapi-fetch";
import type { paths } from "./generated/schema";

export async function flow(baseUrl: string, clientId: string, clientSecret: string): Promise<void> {
  const anonymous = createClient<paths>({ baseUrl });
  const token = await anonymous.POST("/oauth/token", {
    body: { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret },
    bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  if (!token.data) throw new Error("no token");
  const api = createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${token.data.access_token}` },
  });

  const area = await api.POST("/v1/policy-areas", {
    body: { slug: "digital-fictional", name: "Digital (fictional)" },
  });
  const source = await api.POST("/v1/sources", {
    body: { reference: "SRC-FICTIONAL", title: "A plan", publisher: "Test Org", kind: "plan" },
  });
  if (!area.data || !source.data) throw new Error("create failed");
  const created = await api.POST("/v1/commitments", {
    body: {
      reference: "C-FICTIONAL",
      title: "A commitment (fictional)",
      text: "We will do a thing.",
      policy_area_id: area.data.id,
      source_id: source.data.id,
    },
    params: { header: { "Idempotency-Key": "flow-0001" } },
  });
  if (!created.data) throw new Error(created.error?.detail ?? "create failed");
  const etag = created.response.headers.get("ETag") ?? "";
  const updated = await api.PATCH("/v1/commitments/{id}", {
    params: { path: { id: created.data.id }, header: { "If-Match": etag } },
    body: { lead_bodies: ["NHS England"] },
  });
  const leads: string[] | undefined = updated.data?.lead_bodies;
  void leads;

  const page = await anonymous.GET("/v1/events", { params: { query: { after: 0, limit: 100 } } });
  for (const event of page.data?.items ?? []) {
    const position: number = event.position;
    const type: string = event.type;
    void position;
    void type;
  }
  const report = await anonymous.GET("/v1/evaluations/{id}/report", {
    params: { path: { id: "0192f7a4-5c00-7000-8000-000000000001" } },
  });
  const areas = report.data?.policy_areas.map((a) => a.commitments.length);
  void areas;
  const alpha: number | null | undefined = report.data?.agreement?.overall.alpha;
  void alpha;

  // Only an evaluation's panel rates it: seat the chair (this client, fictional) on create.
  const evaluation = await api.POST("/v1/evaluations", {
    body: {
      title: "An evaluation (fictional)",
      body: "A panel (fictional)",
      commitment_ids: [created.data.id],
      panel: [{ name: "A. Chair (fictional)", role: "chair", client_id: clientId }],
    },
  });
  const seats = evaluation.data?.panel?.map((m) => `${m.name}: ${m.role}`);
  void seats;
}
