package dev.flowtrace.agent.extension;

import dev.flowtrace.agent.core.Redactor;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.AttributeType;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.common.Value;
import io.opentelemetry.api.common.ValueType;
import io.opentelemetry.api.logs.Severity;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.InstrumentationScopeInfo;
import io.opentelemetry.sdk.logs.data.Body;
import io.opentelemetry.sdk.logs.data.LogRecordData;
import io.opentelemetry.sdk.logs.export.LogRecordExporter;
import io.opentelemetry.sdk.resources.Resource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Masks log records before they leave the JVM, with the rules of captured span values: a
 * string attribute under a secret name (password, token, authorization, card number…) is
 * {@code [REDACTED]} whole, other string attributes and a string body are masked where they look
 * like credentials, JWTs, keys or card numbers. Wraps the configured exporter: the SDK gives a
 * processor no way to change a record's body.
 */
final class MaskingLogRecordExporter implements LogRecordExporter {
  private final LogRecordExporter delegate;

  MaskingLogRecordExporter(LogRecordExporter delegate) {
    this.delegate = delegate;
  }

  @Override
  public CompletableResultCode export(Collection<LogRecordData> logs) {
    List<LogRecordData> masked = new ArrayList<>(logs.size());
    for (LogRecordData log : logs) masked.add(mask(log));
    return delegate.export(masked);
  }

  @Override
  public CompletableResultCode flush() {
    return delegate.flush();
  }

  @Override
  public CompletableResultCode shutdown() {
    return delegate.shutdown();
  }

  @Override
  public String toString() {
    return "MaskingLogRecordExporter{" + delegate + "}";
  }

  static LogRecordData mask(LogRecordData log) {
    Value<?> body = log.getBodyValue();
    Value<?> maskedBody = body;
    if (body != null && body.getType() == ValueType.STRING) {
      String text = (String) body.getValue();
      String m = Redactor.maskText(text, "");
      if (!m.equals(text)) maskedBody = Value.of(m);
    }
    Attributes attributes = maskAttributes(log.getAttributes());
    if (maskedBody == body && attributes == log.getAttributes()) return log;
    return new Masked(log, maskedBody, attributes);
  }

  /** The attributes masked; the same instance when nothing changed. */
  @SuppressWarnings("unchecked")
  static Attributes maskAttributes(Attributes attributes) {
    AttributesBuilder out = Attributes.builder();
    boolean[] changed = {false};
    attributes.forEach((key, value) -> {
      String name = key.getKey();
      if (key.getType() == AttributeType.STRING && !key.equals(Correlation.ATTRIBUTE)) {
        String text = (String) value;
        String m = Redactor.isSecretKey(name) ? Redactor.MASK : Redactor.maskText(text, name);
        if (!m.equals(text)) changed[0] = true;
        out.put((AttributeKey<String>) key, m);
      } else if (key.getType() == AttributeType.STRING_ARRAY) {
        List<String> texts = (List<String>) value;
        List<String> m = new ArrayList<>(texts.size());
        for (String t : texts) m.add(Redactor.isSecretKey(name) ? Redactor.MASK : Redactor.maskText(t, name));
        if (!m.equals(texts)) changed[0] = true;
        out.put((AttributeKey<List<String>>) key, m);
      } else {
        out.put((AttributeKey<Object>) key, value);
      }
    });
    return changed[0] ? out.build() : attributes;
  }

  /** A record with its body and attributes masked, the rest as it was. */
  private static final class Masked implements LogRecordData {
    private final LogRecordData log;
    private final Value<?> body;
    private final Attributes attributes;

    Masked(LogRecordData log, Value<?> body, Attributes attributes) {
      this.log = log;
      this.body = body;
      this.attributes = attributes;
    }

    @Override
    public Resource getResource() {
      return log.getResource();
    }

    @Override
    public InstrumentationScopeInfo getInstrumentationScopeInfo() {
      return log.getInstrumentationScopeInfo();
    }

    @Override
    public long getTimestampEpochNanos() {
      return log.getTimestampEpochNanos();
    }

    @Override
    public long getObservedTimestampEpochNanos() {
      return log.getObservedTimestampEpochNanos();
    }

    @Override
    public SpanContext getSpanContext() {
      return log.getSpanContext();
    }

    @Override
    public Severity getSeverity() {
      return log.getSeverity();
    }

    @Override
    public String getSeverityText() {
      return log.getSeverityText();
    }

    @Override
    @SuppressWarnings("deprecation")
    public Body getBody() {
      return body == null ? Body.empty() : Body.string(body.asString());
    }

    @Override
    public Value<?> getBodyValue() {
      return body;
    }

    @Override
    public Attributes getAttributes() {
      return attributes;
    }

    @Override
    public int getTotalAttributeCount() {
      return log.getTotalAttributeCount();
    }

    @Override
    public String getEventName() {
      return log.getEventName();
    }
  }
}
