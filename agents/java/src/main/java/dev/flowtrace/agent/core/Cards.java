package dev.flowtrace.agent.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Payment card numbers, told from numeric IDs by the issuers' number ranges and lengths, the
 * Luhn check digit and what the key says. The same rules as the Node.js agent (cards.ts) and
 * the collector's redact processor; all pass agents/conformance/masking/cards.json.
 */
public final class Cards {
  private Cards() {}

  private static final int MIN_DIGITS = 13;
  private static final int MAX_DIGITS = 19;

  /** An issuer's prefix range (same digit count at both ends) and its lengths as a bit mask. */
  private static final class Range {
    final String issuer;
    final int digits;
    final int from;
    final int to;
    final int lengths;

    Range(String issuer, String from, String to, int... lengths) {
      this.issuer = issuer;
      this.digits = from.length();
      this.from = Integer.parseInt(from);
      this.to = Integer.parseInt(to);
      int mask = 0;
      for (int n : lengths) mask |= 1 << n;
      this.lengths = mask;
    }
  }

  private static final int[] L13_19 = {13, 14, 15, 16, 17, 18, 19};
  private static final int[] L14_19 = {14, 15, 16, 17, 18, 19};
  private static final int[] L16_19 = {16, 17, 18, 19};

  // IIN ranges published by the networks (ISO/IEC 7812). Left out on purpose: UATP (prefix 1,
  // where timestamps live), GPN's broad blocks and 12-digit Maestro.
  private static final List<Range> RANGES = sorted(
      new Range("visa", "4", "4", 13, 16, 19),
      new Range("mastercard", "51", "55", 16),
      new Range("mastercard", "2221", "2720", 16),
      new Range("amex", "34", "34", 15),
      new Range("amex", "37", "37", 15),
      new Range("discover", "6011", "6011", L16_19),
      new Range("discover", "644", "649", L16_19),
      new Range("discover", "65", "65", L16_19),
      new Range("discover", "622126", "622925", L16_19),
      new Range("diners", "300", "305", L14_19),
      new Range("diners", "3095", "3095", L14_19),
      new Range("diners", "36", "36", L14_19),
      new Range("diners", "38", "39", L14_19),
      new Range("jcb", "3528", "3589", L16_19),
      new Range("unionpay", "62", "62", L16_19),
      new Range("unionpay", "8100", "8171", L16_19),
      new Range("maestro", "5018", "5018", L13_19),
      new Range("maestro", "5020", "5020", L13_19),
      new Range("maestro", "5038", "5038", L13_19),
      new Range("maestro", "5893", "5893", L13_19),
      new Range("maestro", "6304", "6304", L13_19),
      new Range("maestro", "6759", "6759", L13_19),
      new Range("maestro", "6761", "6763", L13_19),
      new Range("mir", "2200", "2204", L16_19),
      new Range("borica", "2205", "2205", 16),
      new Range("rupay", "60", "60", 16),
      new Range("rupay", "81", "82", 16),
      new Range("rupay", "508", "508", 16),
      new Range("verve", "506099", "506198", 16, 18, 19),
      new Range("verve", "507865", "507964", 16, 18, 19),
      new Range("verve", "650002", "650027", 16, 18, 19),
      new Range("elo", "5041", "5041", 16),
      new Range("elo", "5066", "5067", 16),
      new Range("elo", "509", "509", 16),
      new Range("elo", "6277", "6277", 16),
      new Range("elo", "6362", "6363", 16),
      new Range("dankort", "5019", "5019", 16),
      new Range("interpayment", "636", "636", L16_19),
      new Range("instapayment", "637", "639", 16),
      new Range("troy", "9792", "9792", 16),
      new Range("uzcard", "8600", "8600", 16),
      new Range("uzcard", "5614", "5614", 16),
      new Range("humo", "9860", "9860", 16));

  // Longest prefixes first: where ranges overlap the most specific names the issuer.
  private static List<Range> sorted(Range... ranges) {
    List<Range> list = new ArrayList<>(Arrays.asList(ranges));
    list.sort(Comparator.comparingInt((Range r) -> r.digits).reversed());
    return List.copyOf(list);
  }

  /** The network whose range and length {@code digits} fit, or null. */
  public static String issuer(CharSequence digits) {
    int length = digits.length();
    if (length < MIN_DIGITS || length > MAX_DIGITS) return null;
    int[] prefixes = new int[7];
    for (int k = 1; k <= 6; k++) prefixes[k] = prefixes[k - 1] * 10 + (digits.charAt(k - 1) - '0');
    for (Range r : RANGES) {
      if ((r.lengths & (1 << length)) == 0) continue;
      int prefix = prefixes[r.digits];
      if (prefix >= r.from && prefix <= r.to) return r.issuer;
    }
    return null;
  }

  public static boolean luhnValid(CharSequence digits) {
    int sum = 0;
    boolean dbl = false;
    for (int i = digits.length() - 1; i >= 0; i--) {
      int d = digits.charAt(i) - '0';
      if (dbl) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
      dbl = !dbl;
    }
    return sum % 10 == 0;
  }

  /** ASCII digits in an issuer's range and length, with a valid Luhn check digit. */
  public static boolean isCardNumber(CharSequence digits) {
    for (int i = 0; i < digits.length(); i++) {
      char c = digits.charAt(i);
      if (c < '0' || c > '9') return false;
    }
    // Luhn first: it turns away 9 numbers in 10.
    return luhnValid(digits) && issuer(digits) != null;
  }

  private static final Set<String> CARD_WORDS = Set.of(
      "card", "cards", "pan", "cc", "ccn", "ccnum", "ccnumber", "cardnum", "cardnumber", "cardno",
      "credit", "creditcard", "debitcard");
  private static final Set<String> ID_WORDS = Set.of(
      "id", "ids", "uid", "uuid", "guid", "ulid",
      "traceid", "spanid", "requestid", "orderid", "userid", "customerid", "accountid", "transactionid", "txid", "txnid",
      "messageid", "eventid", "objectid", "entityid", "itemid", "productid", "paymentid", "invoiceid");
  private static final Pattern CAMEL = Pattern.compile("([a-z0-9])([A-Z])");
  private static final Pattern NON_WORD = Pattern.compile("[^a-z0-9]+");

  /** {@code app.orderID} → [app, order, id]. */
  static List<String> keyWords(String key) {
    String spaced = CAMEL.matcher(key).replaceAll("$1 $2").toLowerCase(Locale.ROOT);
    List<String> words = new ArrayList<>();
    for (String w : NON_WORD.split(spaced)) {
      if (!w.isEmpty()) words.add(w);
    }
    return words;
  }

  /** Whether any word of the key names a payment card ({@code card}, {@code pan}, {@code cc_number}, {@code creditCard}). */
  public static boolean keyNamesCard(String key) {
    for (String w : keyWords(key)) {
      if (CARD_WORDS.contains(w)) return true;
    }
    return false;
  }

  /** Whether the key's last word names an identifier ({@code order_id}, {@code userId}, {@code uuid}). */
  public static boolean keyNamesId(String key) {
    List<String> w = keyWords(key);
    return !w.isEmpty() && ID_WORDS.contains(w.get(w.size() - 1));
  }

  /** A value under this key is never a card: the key names an ID and no card. */
  static boolean idOnly(String key) {
    return !key.isEmpty() && !keyNamesCard(key) && keyNamesId(key);
  }

  /** Whether an integer (its decimal digits) under {@code key} is a card number: only when the key names a card. */
  public static boolean isCardInteger(String decimal, String key) {
    return keyNamesCard(key) && isCardNumber(decimal);
  }

  // Where a run of digit groups joined by single spaces or dashes starts: not glued to a word or a
  // decimal point before it. Its groups and its end are found in code (groupsEnd, runEnd): a
  // `\\d+(?:[ -]\\d+)*(?![\\w-]|\\.\\d)` made the engine retry every shorter run at every group of
  // `1 1 1 … 1x` (quadratic), and its repeated group recursed once per group (a 1 MB text
  // overflowed the stack).
  private static final Pattern NUMBER_START = Pattern.compile("(?<![\\w-]|\\d\\.)\\d");

  /**
   * {@code text} with each card number replaced by {@code mask}. A card is unbroken or grouped as
   * printed (a first group of 4, then groups of 3–6 with one kind of separator). Nothing is
   * masked under a key that names an ID and no card, nor a number written as an ID-named field's
   * value in the text ({@code "orderId": "…"}, {@code order_id=…}).
   */
  public static String mask(String text, String key, String mask) {
    if (idOnly(key)) return text;
    boolean named = !key.isEmpty() && keyNamesCard(key);
    Matcher m = NUMBER_START.matcher(text);
    StringBuilder out = null;
    int copiedText = 0;
    int from = 0;
    while (from < text.length() && m.find(from)) {
      int offset = m.start();
      int groupsEnd = groupsEnd(text, offset);
      from = groupsEnd;
      int runEnd = runEnd(text, offset, groupsEnd);
      if (runEnd < 0) continue;
      String run = text.substring(offset, runEnd);
      int copied = 0;
      StringBuilder masked = new StringBuilder();
      for (int[] card : cardsIn(run)) {
        if (!named && idOnly(fieldNameBefore(text, offset + card[0]))) continue;
        masked.append(run, copied, card[0]).append(mask);
        copied = card[1];
      }
      if (copied == 0) continue;
      if (out == null) out = new StringBuilder(text.length());
      out.append(text, copiedText, offset).append(masked).append(run, copied, run.length());
      copiedText = runEnd;
    }
    if (out == null) return text;
    return out.append(text, copiedText, text.length()).toString();
  }

  /** The end of the digit groups joined by single spaces or dashes that start at {@code start}. */
  private static int groupsEnd(String text, int start) {
    int i = start;
    while (true) {
      while (isDigit(charAt(text, i))) i++;
      char sep = charAt(text, i);
      if ((sep != ' ' && sep != '-') || !isDigit(charAt(text, i + 1))) return i;
      i++;
    }
  }

  /**
   * Where the run {@code [start, end)} ends as a number not glued to a word or a decimal point
   * after it: its end, else the end of its groups before its last space (a dash glues), else -1.
   */
  private static int runEnd(String text, int start, int end) {
    while (true) {
      char next = charAt(text, end);
      boolean glued = isNameChar(next) && next != '.' || (next == '.' && isDigit(charAt(text, end + 1)));
      if (!glued) return end;
      end = text.lastIndexOf(' ', end - 1);
      if (end <= start) return -1;
    }
  }

  /** The [start, end) of each card number in a run of digit groups. */
  private static List<int[]> cardsIn(String run) {
    List<int[]> found = new ArrayList<>();
    String[] groups = run.split("[ -]");
    int pos = 0;
    for (int i = 0; i < groups.length; ) {
      String first = groups[i];
      int end = -1;
      int next = i + 1;
      if (first.length() >= MIN_DIGITS && first.length() <= MAX_DIGITS) {
        if (isCardNumber(first)) end = pos + first.length();
      } else if (first.length() == 4 && pos + 4 < run.length()) {
        // Grow group by group; keep the longest card number.
        char sep = run.charAt(pos + 4);
        StringBuilder digits = new StringBuilder(first);
        int at = pos + 4;
        for (int j = i + 1; j < groups.length && digits.length() < MAX_DIGITS; j++) {
          String g = groups[j];
          if (run.charAt(at) != sep || g.length() < 3 || g.length() > 6 || digits.length() + g.length() > MAX_DIGITS) break;
          digits.append(g);
          at += 1 + g.length();
          if (digits.length() >= MIN_DIGITS && isCardNumber(digits)) {
            end = at;
            next = j + 1;
          }
        }
      }
      if (end >= 0) found.add(new int[] {pos, end});
      for (; i < next; i++) pos += groups[i].length() + 1;
    }
    return found;
  }

  /** The field name written just before offset {@code at}, as in {@code "orderId": "…"} or {@code order_id=…}; '' when none. */
  private static String fieldNameBefore(String text, int at) {
    int i = at - 1;
    if (charAt(text, i) == '"' || charAt(text, i) == '\'') i--;
    for (int n = 0; n < 4 && charAt(text, i) == ' '; n++) i--;
    if (charAt(text, i) != ':' && charAt(text, i) != '=') return "";
    i--;
    for (int n = 0; n < 4 && charAt(text, i) == ' '; n++) i--;
    if (charAt(text, i) == '"' || charAt(text, i) == '\'') i--;
    int end = i + 1;
    while (i >= 0 && end - i <= 64 && isNameChar(text.charAt(i))) i--;
    return text.substring(i + 1, end);
  }

  private static char charAt(String s, int i) {
    return i >= 0 && i < s.length() ? s.charAt(i) : '\0';
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isNameChar(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  }
}
