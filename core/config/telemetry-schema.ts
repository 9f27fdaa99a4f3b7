import { z } from 'zod';

/**
 * `telemetry:` in hub.yaml. Traces are off unless `traces.exporter` is `otlp` here or the standard
 * `OTEL_TRACES_EXPORTER=otlp` is set; the OTLP endpoint and headers may also come from the standard
 * `OTEL_EXPORTER_OTLP_*` variables. app/telemetry.ts reads it; core code only uses the API.
 */
export const telemetrySectionSchema = z
  .object({
    traces: z
      .object({
        /** Where spans go: `none` (off) or `otlp` (OTLP over HTTP/JSON). Unset: `OTEL_TRACES_EXPORTER`, else none. */
        exporter: z.enum(['none', 'otlp']).optional(),
        /**
         * The collector's OTLP/HTTP base URL, e.g. http://otel-collector:4318 (`/v1/traces` is added
         * unless given). Unset: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`,
         * else http://localhost:4318.
         */
        endpoint: z
          .url({ protocol: /^https?$/, error: 'use an http(s) URL, e.g. http://otel-collector:4318' })
          .optional(),
        /** `service.name` of the spans. Unset: `OTEL_SERVICE_NAME`, else omnichannel-hub. */
        serviceName: z.string().min(1).optional(),
        /** Share of messages traced (0 to 1), decided at ingress; the worker follows the decision the event carries. */
        sampleRatio: z.coerce.number().min(0).max(1).default(1),
      })
      .prefault({}),
  })
  .prefault({});

export type TelemetryConfig = z.infer<typeof telemetrySectionSchema>;
