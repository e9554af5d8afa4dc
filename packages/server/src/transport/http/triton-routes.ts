/**
 * Triton's model configuration and statistics extensions over REST, answered from
 * serving/model-config.ts and serving/model-stats.ts (the gRPC RPCs give the same answers):
 *
 *   GET /v2/models/{m}[/versions/{v}]/config   the model's configuration (loads it if its inputs are not known yet)
 *   GET /v2/models/{m}[/versions/{v}]/stats    {"model_stats": [ ...one model ]}
 *   GET /v2/models/stats                        {"model_stats": [ ...every registered model ]}
 *
 * data-plane.ts routes the paths here after it has parsed the name and version.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { ModelEntry } from "../../instance/model-entry.js"
import type { Serving } from "../../serving/infer.js"
import { sendMaybeCompressed } from "./compression.js"
import type { Principal } from "../../tenancy/tenants.js"
import { sendError } from "./errors.js"

const JSON_TYPE = { "content-type": "application/json" }

export const makeTritonRoutes = (serving: Serving) => {
  const send = (req: IncomingMessage, res: ServerResponse, value: unknown): void => sendMaybeCompressed(req, res, JSON_TYPE, JSON.stringify(value))
  return {
    config: (req: IncomingMessage, res: ServerResponse, name: string, e: ModelEntry): void => {
      serving.modelConfig(e, name).then(
        (config) => send(req, res, config),
        (err) => {
          serving.noteFailure(err, name)
          sendError(res, err)
        }
      )
    },
    stats: (req: IncomingMessage, res: ServerResponse, name: string, e: ModelEntry, p: Principal): void => send(req, res, { model_stats: serving.modelStatistics(e, p, name) }),
    allStats: (req: IncomingMessage, res: ServerResponse, p: Principal): void => send(req, res, { model_stats: serving.modelStatistics(undefined, p) })
  }
}
