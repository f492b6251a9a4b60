package dev.flowtrace.agent.core;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Secrets are masked in the JVM, before anything leaves it: by the name they are bound to (a
 * parameter, field or map key) and by what they look like. The same rules as the Node.js agent
 * (agents/node/src/redact.ts).
 */
public final class Redactor {
  private Redactor() {}

  public static final String MASK = "[REDACTED]";

  // Compared against the key lower-cased with separators removed, so that `cardNumber`,
  // `card_number` and `CARD-NUMBER` are the same word.
  private static final Pattern SECRET_KEY = Pattern.compile(
      "passw(or)?d|passphrase|^pwd$|secret|token|authori[sz]ation|^auth$|apikey|accesskey|privatekey|credential"
          + "|cookie|sessionid|cardnumber|creditcard|^cardno$|^card$|^pan$|cvv|cvc|^ssn$|^pin$|signature");
  private static final Pattern SEPARATORS = Pattern.compile("[-_.\\s]");

  public static boolean isSecretKey(String key) {
    if (key == null || key.isEmpty()) return false;
    return SECRET_KEY.matcher(SEPARATORS.matcher(key.toLowerCase(Locale.ROOT)).replaceAll("")).find();
  }

  private static final Pattern BEARER = Pattern.compile("\\b(Bearer|Basic|Digest)\\s+[A-Za-z0-9._~+/=-]{8,}", Pattern.CASE_INSENSITIVE);
  // Starts only where a base64url run starts (not at every `-` inside one, which \\b would allow
  // and which made `eyJa-eyJa-…` quadratic).
  private static final Pattern JWT =
      Pattern.compile("(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]*");
  private static final Pattern AWS_KEY = Pattern.compile("\\b(AKIA|ASIA)[0-9A-Z]{16}\\b");
  private static final Pattern PRIVATE_KEY =
      Pattern.compile("-----BEGIN [A-Z ]*PRIVATE KEY-----[\\s\\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)");
  // `password=hunter2`, `"token": "abc"`, `api_key: abc` inside free text or query strings. The
  // match starts at the keyword (a name's head, `db_` in `db_password`, is left as it is anyway)
  // and the name's tail is bounded: an unbounded `[\\w-]*` on both sides tried every `-` of
  // `k:a-a-a-…` as a start and was quadratic.
  private static final Pattern KEY_VALUE = Pattern.compile(
      "((?:passw(?:or)?d|secret|token|api[-_]?key|access[-_]?key|authorization|session[-_]?id)[\\w-]{0,64})"
          + "([\"']?\\s*[=:]\\s*[\"']?)((?:Bearer|Basic|Digest)\\s+)?([^\\s\"'&,;}]+)",
      Pattern.CASE_INSENSITIVE);
  // Cheap screen: most strings have none of these features and skip all the patterns.
  private static final Pattern MAYBE_SECRET =
      Pattern.compile("\\d{4}|bearer|basic|digest|eyJ|AKIA|ASIA|PRIVATE KEY|[=:]", Pattern.CASE_INSENSITIVE);

  /**
   * Masks the parts of a free-form string that look like credentials or card numbers. {@code key}
   * is the name the string is bound to ('' when none): card numbers are not looked for under a
   * key that names an ID.
   */
  public static String maskText(String text, String key) {
    if (!MAYBE_SECRET.matcher(text).find()) return text;
    String out = PRIVATE_KEY.matcher(text).replaceAll(MASK);
    out = JWT.matcher(out).replaceAll(MASK);
    out = AWS_KEY.matcher(out).replaceAll(MASK);
    Matcher kv = KEY_VALUE.matcher(out);
    StringBuilder sb = new StringBuilder();
    while (kv.find()) kv.appendReplacement(sb, Matcher.quoteReplacement(kv.group(1) + kv.group(2) + MASK));
    out = kv.appendTail(sb).toString();
    Matcher bearer = BEARER.matcher(out);
    sb = new StringBuilder();
    while (bearer.find()) {
      String m = bearer.group();
      bearer.appendReplacement(sb, Matcher.quoteReplacement(m.endsWith(MASK) ? m : bearer.group(1) + " " + MASK));
    }
    out = bearer.appendTail(sb).toString();
    return Cards.mask(out, key == null ? "" : key, MASK);
  }

  /** An integer's decimal form, or the mask when its key names a card and it is a card number. */
  public static String maskInteger(String decimal, String key) {
    return key != null && !key.isEmpty() && Cards.isCardInteger(decimal, key) ? MASK : decimal;
  }
}
