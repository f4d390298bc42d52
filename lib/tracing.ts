import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

export interface Tracing {
  /** Temporal's own tracing (interceptors-opentelemetry): for this process's Client and every Worker it runs. */
  temporalPlugin: OpenTelemetryPlugin;
  /** Sends what is still buffered; the process calls it once on its way out. */
  shutdown(): Promise<void>;
}

/**
 * Traces over OTLP/HTTP when an endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT): one trace follows a connection
 * from the API's request through Temporal (the workflow start, the workflow, its activities, the host's engine
 * start), because Temporal's interceptors carry the context in each message's headers. Without an endpoint: no
 * provider, no plugin, nothing on the hot path.
 */
export function startTracing(settings: { endpoint: string | undefined; serviceName: string }): Tracing | null {
  if (!settings.endpoint) return null;
  const resource = new Resource({ 'service.name': settings.serviceName });
  const spanProcessor = new BatchSpanProcessor(
    new OTLPTraceExporter({ url: `${settings.endpoint.replace(/\/$/, '')}/v1/traces` }),
    // Small batches, sent soon: a trace an operator looks for should be there within seconds.
    { scheduledDelayMillis: 1_000 },
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return {
    temporalPlugin: new OpenTelemetryPlugin({ resource, spanProcessor }),
    shutdown: () => provider.shutdown(),
  };
}
