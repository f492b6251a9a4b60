import { describe, expect, it } from 'vitest';
import { fieldNameBefore, keyNamesCard, keyNamesId } from './card-context.js';
import { cardIssuer } from './card-issuers.js';
import { IBAN_LENGTHS, ibanValid, luhnValid } from './checksums.js';
import { redactConfigSchema } from './config.js';
import { Redactor, type Tally } from './redactor.js';

const SAME = Symbol('unchanged');
const noTally: Tally = { record() {} };
const defaults = new Redactor(redactConfigSchema.parse({}));
const withIp = new Redactor(redactConfigSchema.parse({ detectors: { ip: { enabled: true } } }));

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

/** [input, expected output or SAME, 'ip' to run with the IP detector on]. */
const cases: Array<[string, string | typeof SAME, ('ip' | undefined)?]> = [
  // e-mail
  ['john.doe@example.com', '[REDACTED:email]'],
  ['Contact: Jane.Roe+news@mail.example.co.uk today', 'Contact: [REDACTED:email] today'],
  ['https://shop.example.com/users/jane@example.org/orders', 'https://shop.example.com/users/[REDACTED:email]/orders'],
  ['/api/login?email=jane%40example.org&next=/', '/api/login?email=[REDACTED:email]&next=/'],
  ['{"user":"bob@corp.example","id":7}', '{"user":"[REDACTED:email]","id":7}'],
  ['mailto:a.b@c.de,x_y@z.io', 'mailto:[REDACTED:email],[REDACTED:email]'],
  ['ping @alice about it', SAME],
  ['npm i lodash@4.17.21', SAME],
  ['root@localhost', SAME],
  ['@scope/pkg@1.2.3', SAME],
  // payment cards
  ['4111 1111 1111 1111', '[REDACTED:credit_card]'],
  ['4111111111111111', '[REDACTED:credit_card]'],
  ['5500-0000-0000-0004', '[REDACTED:credit_card]'],
  ['amex 3782 822463 10005 ok', 'amex [REDACTED:credit_card] ok'],
  ['card=6011111111111117;', 'card=[REDACTED:credit_card];'],
  ['4222222222222', '[REDACTED:credit_card]'],
  ['mc 2221 0000 0000 0009', 'mc [REDACTED:credit_card]'],
  ['jcb 3528-0000-0000-0007', 'jcb [REDACTED:credit_card]'],
  ['[4012888888881881,2]', '[[REDACTED:credit_card],2]'],
  ['4111 1111 1111 1111 2024', '[REDACTED:credit_card] 2024'],
  ['4111 1111 1111 1112', SAME],
  ['4111111111111112', SAME],
  ['4111-1111 1111-1111', SAME],
  ['41 11 11 11 11 11 11 11', SAME],
  ['1732982400000', SAME],
  ['1732982400001', SAME], // a Luhn-valid millisecond timestamp
  ['"ts":1732982400000000000', SAME],
  ['order 20241130000124', SAME],
  ['order 202411300000127', SAME], // Luhn-valid, but no issuer starts 2024
  ['3111111111111113', SAME], // Luhn-valid, but no issuer starts 31
  ['x=3.4111111111111111', SAME],
  ['price 1299.99 EUR, total $1,299.99', SAME],
  ['ORD-2024-000123', SAME],
  ['order #20241130-0001234', SAME],
  // IBAN
  ['DE89 3704 0044 0532 0130 00', '[REDACTED:iban]'],
  ['DE89370400440532013000', '[REDACTED:iban]'],
  ['IBAN: GB82WEST12345698765432.', 'IBAN: [REDACTED:iban].'],
  ['NL91ABNA0417164300', '[REDACTED:iban]'],
  ['FR14 2004 1010 0505 0001 3M02 606', '[REDACTED:iban]'],
  ['DE89370400440532013001', SAME],
  ['GB82WEST12345698765433', SAME],
  ['XX89370400440532013000', SAME],
  ['DE8937040044053201300', SAME],
  // US SSN
  ['123-45-6789', '[REDACTED:ssn]'],
  ['ssn 078 05 1120.', 'ssn [REDACTED:ssn].'],
  ['000-12-3456', SAME],
  ['666-12-3456', SAME],
  ['912-34-5678', SAME],
  ['123-00-4567', SAME],
  ['123-45-0000', SAME],
  ['123-45 6789', SAME],
  ['123456789', SAME],
  ['2024-11-30', SAME],
  // phone numbers
  ['+1 415 555 2671', '[REDACTED:phone]'],
  ['call +44 (0)20 7946 0958 now', 'call [REDACTED:phone] now'],
  ['tel:+49-30-1234567', 'tel:[REDACTED:phone]'],
  ['+14155552671', '[REDACTED:phone]'],
  ['415-555-2671', SAME],
  ['(415) 555-2671', SAME],
  ['UTC+05:30', SAME],
  ['1+1=2', SAME],
  ['+1234567890123456789', SAME],
  // secret-named fields inside text
  ['https://api.example.com/login?user=bob&password=hunter2&next=/', 'https://api.example.com/login?user=bob&password=[REDACTED:secret_field]&next=/'],
  ['{"username":"bob","password":"correct horse"}', '{"username":"bob","password":"[REDACTED:secret_field]"}'],
  ['{"client_secret": "s3cr3t-value", "scope": "read"}', '{"client_secret": "[REDACTED:secret_field]", "scope": "read"}'],
  ['retry with access_token=ya29.a0AfH6SMB&x=1', 'retry with access_token=[REDACTED:secret_field]&x=1'],
  ['X-Api-Key: 0123456789abcdef', 'X-Api-Key: [REDACTED:secret_field]'],
  ['Password reset e-mail sent', SAME],
  ['input_tokens: 512', SAME],
  ['tokenizer=bpe', SAME],
  ['keyspace=orders', SAME],
  // JWT
  [JWT, '[REDACTED:jwt]'],
  [`token=${JWT}&x=1`, 'token=[REDACTED:jwt]&x=1'],
  ['eyJhbGciOiJIUzI1NiJ9', SAME],
  // Bearer / Basic
  ['Bearer abcdef1234567890', 'Bearer [REDACTED:auth]'],
  ['authorization: bearer ya29.a0AfH6SMBx', 'authorization: bearer [REDACTED:auth]'],
  ['Basic dXNlcjpwYXNzd29yZA==', 'Basic [REDACTED:auth]'],
  [`Bearer ${JWT}`, 'Bearer [REDACTED:jwt]'],
  ['Basic plan', SAME],
  ['Bearer token expired', SAME],
  ['Basic authentication failed', SAME],
  // AWS
  ['AKIAIOSFODNN7EXAMPLE', '[REDACTED:aws_key]'],
  ['key ASIAY34FZKBOKMUTVV7A used', 'key [REDACTED:aws_key] used'],
  ['aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key=[REDACTED:aws_key]'],
  ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', SAME],
  ['secret commit 9fceb02d0ae598e95dc970b74767f19372d61af8', SAME],
  ['AKIA', SAME],
  // IP addresses (off by default)
  ['192.168.1.20', SAME],
  ['192.168.1.20', '[REDACTED:ip]', 'ip'],
  ['client 10.0.0.1:8080', 'client [REDACTED:ip]:8080', 'ip'],
  ['http://172.16.0.5/health', 'http://[REDACTED:ip]/health', 'ip'],
  ['2001:db8::1', '[REDACTED:ip]', 'ip'],
  ['[fe80::1ff:fe23:4567:890a]:443', '[[REDACTED:ip]]:443', 'ip'],
  ['::ffff:192.0.2.128', '[REDACTED:ip]', 'ip'],
  // A bare four-part version cannot be told from an address; marked ones can.
  ['1.2.3.4', '[REDACTED:ip]', 'ip'],
  ['v1.2.3.4', SAME, 'ip'],
  ['1.2.3.4.5', SAME, 'ip'],
  ['999.1.1.1', SAME, 'ip'],
  ['12:30:45', SAME, 'ip'],
  ['std::vector<int>', SAME, 'ip'],
  ['00:1a:2b:3c:4d:5e', SAME, 'ip'],
  [UA, SAME, 'ip'],
  // identifiers, dates and other things that must stay
  [UA, SAME],
  ['550e8400-e29b-41d4-a716-446655440000', SAME],
  ['4bf92f3577b34da6a3ce929d0e0e4736', SAME],
  ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', SAME],
  ['2024-11-30T12:34:56.789Z', SAME],
  ['/api/orders/123456/items?page=2', SAME],
  ['com.example.orders.OrderService', SAME],
  ['', SAME],
];

describe('detectors', () => {
  it.each(cases)('%s → %s', (input, expected, mode) => {
    const out = (mode === 'ip' ? withIp : defaults).text(input, 'x', noTally);
    if (expected === SAME) expect(out).toBeUndefined();
    else expect(out).toBe(expected);
  });

  it('has enough cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });
});

describe('checksums', () => {
  it('Luhn', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });

  it('IBAN mod 97 and lengths', () => {
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
    expect(ibanValid('de89370400440532013000')).toBe(false);
    expect(IBAN_LENGTHS.DE).toBe(22);
  });
});

describe('what keys say about cards', () => {
  it('tells keys that name a card from keys that name an ID, by whole words', () => {
    for (const k of ['card', 'payment.card', 'creditCard', 'cc_number', 'customer.pan', 'CARD-NUMBER', 'card_id', 'cardNo']) expect(keyNamesCard(k), k).toBe(true);
    for (const k of ['cardinality', 'discard', 'span', 'app.order_id', 'accuracy', 'company']) expect(keyNamesCard(k), k).toBe(false);
    for (const k of ['id', 'app.order_id', 'orderId', 'OrderID', 'user.uuid', 'customer_IDs', 'x-b3-traceid', 'messaging.message.id']) expect(keyNamesId(k), k).toBe(true);
    for (const k of ['paid', 'valid', 'idle', 'id.card.note', 'android', 'order']) expect(keyNamesId(k), k).toBe(false);
  });

  it('reads the field name written before a value in JSON, query strings and logs', () => {
    const at = (text: string) => fieldNameBefore(text, text.indexOf('49'));
    expect(at('{"orderId":"4986947095633979044"}')).toBe('orderId');
    expect(at('{"order_id": 4986947095633979044}')).toBe('order_id');
    expect(at('/x?a=1&order.id=4986947095633979044')).toBe('order.id');
    expect(at('id:  4986947095633979044')).toBe('id');
    expect(at('order 4986947095633979044')).toBe('');
  });

  it('knows issuers by prefix and length, the most specific range first', () => {
    expect(cardIssuer('4111111111111111')).toBe('visa');
    expect(cardIssuer('41111111111111111')).toBeUndefined(); // Visa has 13, 16 or 19 digits
    expect(cardIssuer('378282246310005')).toBe('amex');
    expect(cardIssuer('3782822463100052')).toBeUndefined();
    expect(cardIssuer('6500021234567890')).toBe('verve');
    expect(cardIssuer('6512341234567890')).toBe('discover');
    expect(cardIssuer('1732982400001')).toBeUndefined();
  });
});
