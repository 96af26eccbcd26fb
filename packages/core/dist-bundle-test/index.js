// dist/sync/syncrepl.js
import { Observable } from "rxjs";

// dist/protocol/connection.js
import net from "node:net";
import tls from "node:tls";

// dist/errors.js
var SyncreplError = class extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
};
var BindError = class extends SyncreplError {
  resultCode;
  bindDN;
  code = "BIND_REFUSED";
  retryable = false;
  constructor(resultCode, bindDN, diagnosticMessage) {
    super(`The server refused the bind as ${bindDN === "" ? "anonymous" : JSON.stringify(bindDN)} (${resultName(resultCode)}${diagnosticMessage ? `: ${diagnosticMessage}` : ""}). Check the bind DN and password, or whether this server allows that bind.`);
    this.resultCode = resultCode;
    this.bindDN = bindDN;
  }
};
var SyncNotSupportedError = class extends SyncreplError {
  base;
  code = "SYNC_NOT_SUPPORTED";
  retryable = false;
  constructor(base, diagnosticMessage) {
    super(`The server does not offer Content Synchronization (RFC 4533) for base ${JSON.stringify(base)}${diagnosticMessage ? ` (${diagnosticMessage})` : ""}. Enable the syncprov overlay on the database that holds this base.`);
    this.base = base;
  }
};
var TlsError = class extends SyncreplError {
  code = "TLS_FAILED";
  retryable = false;
  constructor(endpoint, reason2, options) {
    super(`TLS with ${endpoint} failed: ${reason2}. Check the server certificate against the \`tls.ca\` you pass, and the host name in the URL.`, options);
  }
};
var TimeoutError = class extends SyncreplError {
  phase;
  ms;
  code = "TIMEOUT";
  retryable = true;
  constructor(endpoint, phase, ms) {
    super(`No answer from ${endpoint} within ${ms} ms while ${phase}. Check that the server is reachable, or raise the \`timeout\` option.`);
    this.phase = phase;
    this.ms = ms;
  }
};
var MalformedBerError = class extends SyncreplError {
  offset;
  code = "MALFORMED_BER";
  retryable = true;
  constructor(reason2, offset) {
    super(`Malformed BER from the server${offset === void 0 ? "" : ` at byte ${offset}`}: ${reason2}. The connection was closed; this is a server or network fault, not a usage error.`);
    this.offset = offset;
  }
};
var ProtocolError = class extends SyncreplError {
  code = "PROTOCOL";
  retryable = true;
  constructor(reason2) {
    super(`LDAP protocol violation by the server: ${reason2}. The connection was closed.`);
  }
};
var RefreshRequiredError = class extends SyncreplError {
  code = "REFRESH_REQUIRED";
  retryable = true;
  resultCode = 4096;
  constructor(diagnosticMessage) {
    super(`The server requires a full reload (e-syncRefreshRequired${diagnosticMessage ? `: ${diagnosticMessage}` : ""}). Restart without a cookie and purge what is not sent again, or pass \`reconnect\` to do this automatically.`);
  }
};
var LdapResultError = class extends SyncreplError {
  resultCode;
  code = "LDAP_RESULT";
  retryable;
  constructor(resultCode, operation, diagnosticMessage) {
    super(`The server answered ${operation} with ${resultName(resultCode)}${diagnosticMessage ? `: ${diagnosticMessage}` : ""}.` + (resultCode === 32 ? " Check the search base." : ""));
    this.resultCode = resultCode;
    this.retryable = [51, 52, 53, 80].includes(resultCode);
  }
};
var ConnectionError = class extends SyncreplError {
  code = "CONNECTION";
  retryable = true;
  constructor(endpoint, reason2, options) {
    super(`Connection to ${endpoint} ${reason2}. Check that the server is running and reachable.`, options);
  }
};
var InvalidOptionsError = class extends SyncreplError {
  code = "INVALID_OPTIONS";
  retryable = false;
};
var RESULT_NAMES = {
  0: "success",
  1: "operationsError",
  2: "protocolError",
  3: "timeLimitExceeded",
  4: "sizeLimitExceeded",
  7: "authMethodNotSupported",
  8: "strongerAuthRequired",
  11: "adminLimitExceeded",
  12: "unavailableCriticalExtension",
  13: "confidentialityRequired",
  14: "saslBindInProgress",
  32: "noSuchObject",
  34: "invalidDNSyntax",
  48: "inappropriateAuthentication",
  49: "invalidCredentials",
  50: "insufficientAccessRights",
  51: "busy",
  52: "unavailable",
  53: "unwillingToPerform",
  80: "other",
  118: "canceled",
  4096: "e-syncRefreshRequired"
};
function resultName(code) {
  return `${RESULT_NAMES[code] ?? "resultCode"} (${code})`;
}

// dist/protocol/ber.js
var BerReader = class {
  buf;
  end;
  pos;
  constructor(buf, start = 0, end = buf.length) {
    this.buf = buf;
    this.end = end;
    this.pos = start;
  }
  get done() {
    return this.pos >= this.end;
  }
  peekTag() {
    if (this.pos >= this.end)
      throw new MalformedBerError("unexpected end of data", this.pos);
    return this.buf[this.pos];
  }
  /** Reads a tag byte; high-tag-number forms do not occur in LDAP and are rejected. */
  readTag() {
    const tag = this.peekTag();
    if ((tag & 31) === 31)
      throw new MalformedBerError("high-tag-number form is not used by LDAP", this.pos);
    this.pos++;
    return tag;
  }
  /** Reads a definite length and checks that the content fits in the enclosing window. */
  readLength() {
    const buf = this.buf;
    if (this.pos >= this.end)
      throw new MalformedBerError("missing length", this.pos);
    let len = buf[this.pos++];
    if (len & 128) {
      const n = len & 127;
      if (n === 0)
        throw new MalformedBerError("indefinite length is not allowed in LDAP", this.pos - 1);
      if (n > 4)
        throw new MalformedBerError(`length of ${n} bytes is too large`, this.pos - 1);
      if (this.pos + n > this.end)
        throw new MalformedBerError("truncated length", this.pos);
      len = 0;
      for (let i = 0; i < n; i++)
        len = len * 256 + buf[this.pos++];
    }
    if (this.pos + len > this.end) {
      throw new MalformedBerError(`length ${len} runs past the end of its container`, this.pos);
    }
    return len;
  }
  /** Reads a tag, checks it, and returns the end offset of its content. */
  enter(expectedTag, what) {
    const at = this.pos;
    const tag = this.readTag();
    if (tag !== expectedTag) {
      throw new MalformedBerError(`expected ${what} (tag 0x${hex(expectedTag)}), got tag 0x${hex(tag)}`, at);
    }
    const len = this.readLength();
    return this.pos + len;
  }
  /** Reads an element with the given tag; returns [start, end) of its content. */
  readRaw(expectedTag, what) {
    const end = this.enter(expectedTag, what);
    const start = this.pos;
    this.pos = end;
    return [start, end];
  }
  /** Reads any element; returns its tag and content window. */
  readAny() {
    const tag = this.readTag();
    const len = this.readLength();
    const start = this.pos;
    this.pos += len;
    return { tag, start, end: this.pos };
  }
  readInteger(expectedTag, what) {
    const [start, end] = this.readRaw(expectedTag, what);
    const len = end - start;
    if (len < 1 || len > 6)
      throw new MalformedBerError(`${what} has a length of ${len}`, start);
    let value = this.buf[start] & 128 ? -1 : 0;
    for (let i = start; i < end; i++)
      value = value * 256 + this.buf[i];
    return value;
  }
  readBoolean(expectedTag, what) {
    const [start, end] = this.readRaw(expectedTag, what);
    if (end - start !== 1)
      throw new MalformedBerError(`${what} is not one byte`, start);
    return this.buf[start] !== 0;
  }
  /** An OCTET STRING (or a primitive with that tag) read as UTF-8 text. */
  readString(expectedTag, what) {
    const [start, end] = this.readRaw(expectedTag, what);
    return this.buf.toString("utf8", start, end);
  }
  /** An OCTET STRING copied out as bytes (the caller may keep it). */
  readBytes(expectedTag, what) {
    const [start, end] = this.readRaw(expectedTag, what);
    return Buffer.from(this.buf.subarray(start, end));
  }
};
function hex(n) {
  return n.toString(16).padStart(2, "0");
}
function elementLength(buf, offset) {
  if (buf.length - offset < 2)
    return -1;
  if (buf[offset] !== 48)
    throw new MalformedBerError("an LDAPMessage must be a SEQUENCE", offset);
  let len = buf[offset + 1];
  let header = 2;
  if (len & 128) {
    const n = len & 127;
    if (n === 0)
      throw new MalformedBerError("indefinite length is not allowed in LDAP", offset + 1);
    if (n > 4)
      throw new MalformedBerError(`length of ${n} bytes is too large`, offset + 1);
    if (buf.length - offset < 2 + n)
      return -1;
    len = 0;
    for (let i = 0; i < n; i++)
      len = len * 256 + buf[offset + 2 + i];
    header += n;
  }
  return header + len;
}

// dist/protocol/pdu.js
import { isUtf8 } from "node:buffer";

// dist/protocol/ldapjs.js
import asn1 from "@ldapjs/asn1";
import ldapFilter from "@ldapjs/filter";
function createWriter() {
  return new asn1.BerWriter();
}
function encodeFilter(filter) {
  const parsed = ldapFilter.parseString(filter);
  return Buffer.from(parsed.toBer().buffer);
}

// dist/replica/records.js
function setOwn(record, key, value) {
  if (key === "__proto__") {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}

// dist/protocol/pdu.js
var TAG = {
  bindRequest: 96,
  bindResponse: 97,
  unbindRequest: 66,
  // primitive NULL
  searchRequest: 99,
  searchResEntry: 100,
  searchResDone: 101,
  searchResRef: 115,
  abandonRequest: 80,
  // primitive INTEGER
  extendedRequest: 119,
  extendedResponse: 120,
  intermediateResponse: 121,
  controls: 160
};
var SEQUENCE = 48;
var SET = 49;
var OCTET_STRING = 4;
var INTEGER = 2;
var ENUMERATED = 10;
var BOOLEAN = 1;
var SCOPE_CODES = { base: 0, one: 1, sub: 2 };
function envelope(messageId, body, controls) {
  const w = createWriter();
  w.startSequence(SEQUENCE);
  w.writeInt(messageId);
  body(w);
  if (controls && controls.length > 0) {
    w.startSequence(TAG.controls);
    for (const c of controls) {
      w.startSequence(SEQUENCE);
      w.writeString(c.oid);
      if (c.critical)
        w.writeBoolean(true);
      if (c.value)
        w.writeBuffer(Buffer.from(c.value), OCTET_STRING);
      w.endSequence();
    }
    w.endSequence();
  }
  w.endSequence();
  return Buffer.from(w.buffer);
}
function encodeSimpleBind(messageId, dn, password) {
  return envelope(messageId, (w) => {
    w.startSequence(TAG.bindRequest);
    w.writeInt(3);
    w.writeString(dn);
    w.writeBuffer(Buffer.from(password, "utf8"), 128);
    w.endSequence();
  });
}
function encodeSaslBind(messageId, mechanism, credentials) {
  return envelope(messageId, (w) => {
    w.startSequence(TAG.bindRequest);
    w.writeInt(3);
    w.writeString("");
    w.startSequence(163);
    w.writeString(mechanism);
    if (credentials !== void 0)
      w.writeString(credentials);
    w.endSequence();
    w.endSequence();
  });
}
function encodeSearch(messageId, req, controls) {
  const filter = encodeFilter(req.filter);
  return envelope(messageId, (w) => {
    w.startSequence(TAG.searchRequest);
    w.writeString(req.base);
    w.writeEnumeration(SCOPE_CODES[req.scope]);
    w.writeEnumeration(0);
    w.writeInt(0);
    w.writeInt(0);
    w.writeBoolean(false);
    w.appendBuffer(filter);
    w.startSequence(SEQUENCE);
    for (const a of req.attributes)
      w.writeString(a);
    w.endSequence();
    w.endSequence();
  }, controls);
}
function encodeAbandon(messageId, target) {
  return envelope(messageId, (w) => w.writeInt(target, TAG.abandonRequest));
}
function encodeUnbind(messageId) {
  return envelope(messageId, (w) => w.writeBuffer(Buffer.alloc(0), TAG.unbindRequest));
}
function encodeExtended(messageId, oid, value) {
  return envelope(messageId, (w) => {
    w.startSequence(TAG.extendedRequest);
    w.writeBuffer(Buffer.from(oid, "latin1"), 128);
    if (value)
      w.writeBuffer(Buffer.from(value), 129);
    w.endSequence();
  });
}
function decodeMessage(buf, start, end, opts) {
  const r = new BerReader(buf, start, end);
  const msgEnd = r.enter(SEQUENCE, "LDAPMessage");
  if (msgEnd !== end)
    throw new MalformedBerError("trailing bytes after LDAPMessage", msgEnd);
  r.end = msgEnd;
  const messageId = r.readInteger(INTEGER, "messageID");
  const opAt = r.pos;
  const op = r.readAny();
  const controls = r.done ? [] : readControls(r);
  if (!r.done)
    throw new MalformedBerError("trailing elements in LDAPMessage", r.pos);
  const body = new BerReader(buf, op.start, op.end);
  switch (op.tag) {
    case TAG.searchResEntry: {
      if (!opts.records) {
        const { dn: dn2, attributes: attributes2 } = readEntry(body, opts.binaryAttributes, void 0);
        return { kind: "searchEntry", messageId, dn: dn2, attributes: attributes2, controls };
      }
      const byteValues = [];
      const { dn, attributes } = readEntry(body, opts.binaryAttributes, byteValues);
      const record = entryRecord(buf, op.start, op.end, byteValues);
      return { kind: "searchEntry", messageId, dn, attributes, controls, record };
    }
    case TAG.searchResDone:
      return { kind: "searchDone", messageId, result: readResult(body), controls };
    case TAG.intermediateResponse: {
      let name;
      let value;
      if (!body.done && body.peekTag() === 128)
        name = body.readString(128, "responseName");
      if (!body.done && body.peekTag() === 129)
        value = body.readBytes(129, "responseValue");
      if (!body.done)
        throw new MalformedBerError("unexpected element in IntermediateResponse", body.pos);
      return { kind: "intermediate", messageId, name, value, controls };
    }
    case TAG.bindResponse:
      return { kind: "bind", messageId, result: readResult(body) };
    case TAG.extendedResponse: {
      const result = readResult(body);
      let name;
      let value;
      if (!body.done && body.peekTag() === 138)
        name = body.readString(138, "responseName");
      if (!body.done && body.peekTag() === 139)
        value = body.readBytes(139, "responseValue");
      return { kind: "extended", messageId, result, name, value };
    }
    case TAG.searchResRef:
      return { kind: "searchReference", messageId };
    default:
      if ((op.tag & 192) !== 64)
        throw new MalformedBerError("protocolOp is not APPLICATION-tagged", opAt);
      return { kind: "unknown", messageId, tag: op.tag };
  }
}
function readResult(r) {
  const resultCode = r.readInteger(ENUMERATED, "resultCode");
  const matchedDN = r.readString(OCTET_STRING, "matchedDN");
  const diagnosticMessage = r.readString(OCTET_STRING, "diagnosticMessage");
  if (!r.done && r.peekTag() === 163)
    r.readAny();
  return { resultCode, matchedDN, diagnosticMessage };
}
function readControls(r) {
  const end = r.enter(TAG.controls, "controls");
  const controls = [];
  while (r.pos < end) {
    const cEnd = r.enter(SEQUENCE, "Control");
    const oid = r.readString(OCTET_STRING, "controlType");
    let critical = false;
    let value;
    if (r.pos < cEnd && r.peekTag() === BOOLEAN)
      critical = r.readBoolean(BOOLEAN, "criticality");
    if (r.pos < cEnd)
      value = r.readBytes(OCTET_STRING, "controlValue");
    if (r.pos !== cEnd)
      throw new MalformedBerError("unexpected element in Control", r.pos);
    controls.push({ oid, critical, value });
  }
  return controls;
}
var names = [];
var MAX_NAMES = 256;
function attributeName(buf, s, e, hint) {
  const len = e - s;
  const count = names.length;
  for (let k = 0; k < count; k++) {
    const at = (hint + k) % count;
    const bytes = names[at].bytes;
    if (bytes.length !== len)
      continue;
    let i = 0;
    while (i < len && bytes[i] === buf[s + i])
      i++;
    if (i === len)
      return at;
  }
  const name = buf.toString("utf8", s, e);
  const entry = {
    bytes: new Uint8Array(buf.subarray(s, e)),
    name,
    lower: name.toLowerCase(),
    binary: false,
    binaryFor: void 0
  };
  if (count < MAX_NAMES) {
    names.push(entry);
    return count;
  }
  overflow = entry;
  return -1;
}
var overflow;
var entryLowers = [];
var RECORD_BYTES = 128;
function readEntry(r, binary, byteValues) {
  const dn = r.readString(OCTET_STRING, "objectName");
  const listEnd = r.enter(SEQUENCE, "PartialAttributeList");
  const attributes = {};
  const buf = r.buf;
  entryLowers.length = 0;
  let hint = 0;
  while (r.pos < listEnd) {
    const aEnd = r.enter(SEQUENCE, "PartialAttribute");
    const [ns, ne] = r.readRaw(OCTET_STRING, "attribute type");
    const at = attributeName(buf, ns, ne, hint);
    const an = at < 0 ? overflow : names[at];
    if (at >= 0)
      hint = at + 1;
    if (binary !== void 0 && an.binaryFor !== binary) {
      an.binary = binary.has(an.lower) || an.lower.endsWith(";binary");
      an.binaryFor = binary;
    }
    const valsEnd = r.enter(SET, "attribute values");
    let values = an.name === "__proto__" ? Object.getOwnPropertyDescriptor(attributes, an.name)?.value : attributes[an.name];
    if (values === void 0) {
      const prior = entryLowers.indexOf(an.lower);
      if (prior >= 0) {
        values = attributes[Object.keys(attributes)[prior]];
      } else {
        entryLowers.push(an.lower);
      }
    }
    while (r.pos < valsEnd) {
      const tagAt = r.pos;
      let value;
      if (binary === void 0) {
        const bytes = buf[tagAt] === RECORD_BYTES;
        const [s, e] = r.readRaw(bytes ? RECORD_BYTES : OCTET_STRING, "attribute value");
        value = bytes ? new Uint8Array(buf.subarray(s, e)) : decodeText(buf, s, e, tagAt);
      } else {
        const [s, e] = r.readRaw(OCTET_STRING, "attribute value");
        value = decodeValue(buf, s, e, an.binary);
        if (byteValues !== void 0 && typeof value !== "string")
          byteValues.push(tagAt);
      }
      if (values === void 0)
        setOwn(attributes, an.name, values = [value]);
      else
        values.push(value);
    }
    if (values === void 0)
      setOwn(attributes, an.name, []);
    if (r.pos !== aEnd)
      throw new MalformedBerError("unexpected element in PartialAttribute", r.pos);
  }
  if (r.pos !== listEnd || !r.done) {
    throw new MalformedBerError("unexpected element in SearchResultEntry", r.pos);
  }
  return { dn, attributes };
}
function decodeValue(buf, s, e, binary) {
  if (!binary) {
    let i = s;
    while (i < e && buf[i] < 128)
      i++;
    if (i === e)
      return latin1(buf, s, e);
    if (isUtf8(buf.subarray(s, e)))
      return utf8(buf, s, e);
  }
  return new Uint8Array(buf.subarray(s, e));
}
function decodeText(buf, s, e, at) {
  let i = s;
  while (i < e && buf[i] < 128)
    i++;
  if (i === e)
    return latin1(buf, s, e);
  if (isUtf8(buf.subarray(s, e)))
    return utf8(buf, s, e);
  throw new MalformedBerError("a text value is not UTF-8", at);
}
function entryRecord(buf, start, end, byteValues) {
  if (byteValues.length === 0)
    return latin1(buf, start, end);
  const copy = Buffer.from(buf.subarray(start, end));
  for (const at of byteValues)
    copy[at - start] = RECORD_BYTES;
  return latin1(copy, 0, copy.length);
}
function decodeEntryRecord(record) {
  return readEntry(new BerReader(record, 0, record.length), void 0, void 0);
}
var direct = typeof Buffer.prototype.latin1Slice === "function";
function latin1(buf, s, e) {
  return direct ? buf.latin1Slice(s, e) : buf.toString("latin1", s, e);
}
function utf8(buf, s, e) {
  return direct ? buf.utf8Slice(s, e) : buf.toString("utf8", s, e);
}

// dist/protocol/connection.js
var STARTTLS_OID = "1.3.6.1.4.1.1466.20037";
var NOTICE_OF_DISCONNECTION_OID = "1.3.6.1.4.1.1466.20036";
var MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
function parseLdapUrl(url) {
  const m = /^(ldaps?):\/\/(\[[0-9a-fA-F:.]+\]|[^:/?@]*)(?::(\d+))?(?:\/.*)?$/.exec(url);
  if (!m) {
    const shown = url.replace(/\/\/[^/]*@/, "//***@");
    throw new InvalidOptionsError(`Unsupported LDAP URL ${JSON.stringify(shown)}: use ldap://host:port or ldaps://host:port, with the bind DN and password as options.`);
  }
  const secure = m[1] === "ldaps";
  const rawHost = m[2] || "localhost";
  const host = rawHost.startsWith("[") ? rawHost.slice(1, -1) : rawHost;
  const port = m[3] ? Number(m[3]) : secure ? 636 : 389;
  if (!(port > 0 && port < 65536))
    throw new InvalidOptionsError(`Invalid port ${port} in an LDAP URL.`);
  return { secure, host, port, endpoint: `${rawHost}:${port}` };
}
var LdapConnection = class _LdapConnection {
  socket;
  endpoint;
  decode;
  nextId = 1;
  handlers = /* @__PURE__ */ new Map();
  chunks = [];
  buffered = 0;
  /** Total length of the message being buffered, or -1 while its header is incomplete. */
  needed = -1;
  closed = false;
  /** Called once when the connection ends; `error` is undefined for a close we asked for. */
  onClose = () => {
  };
  /** Single-response requests still waiting: they fail when the connection ends. */
  waiting = /* @__PURE__ */ new Set();
  constructor(socket, endpoint, decode) {
    this.socket = socket;
    this.endpoint = endpoint;
    this.decode = decode;
    this.attach(socket);
  }
  static async connect(opts) {
    const { url } = opts;
    const endpoint = url.endpoint;
    const tlsOptions = {
      ...opts.tls,
      host: url.host,
      port: url.port,
      servername: opts.tls?.servername ?? (net.isIP(url.host) ? void 0 : url.host)
    };
    const socket = url.secure ? tls.connect(tlsOptions) : net.connect({ host: url.host, port: url.port });
    socket.setNoDelay(true);
    await withTimeout(new Promise((resolve, reject) => {
      socket.once(url.secure ? "secureConnect" : "connect", () => resolve());
      socket.once("error", (err) => reject(socketError(endpoint, err, url.secure)));
    }), opts.timeout, endpoint, url.secure ? "connecting with TLS" : "connecting", () => socket.destroy());
    const conn = new _LdapConnection(socket, endpoint, opts.decode);
    if (opts.startTLS && !url.secure) {
      try {
        await withTimeout(conn.startTls(tlsOptions), opts.timeout, endpoint, "starting TLS", () => conn.destroy());
      } catch (err) {
        conn.destroy();
        throw err;
      }
    }
    return conn;
  }
  get isClosed() {
    return this.closed;
  }
  attach(socket) {
    socket.on("data", this.onData);
    socket.on("error", this.onSocketError);
    socket.on("close", this.onSocketClose);
  }
  detach(socket) {
    socket.off("data", this.onData);
    socket.off("error", this.onSocketError);
    socket.off("close", this.onSocketClose);
  }
  onSocketError = (err) => {
    this.fail(socketError(this.endpoint, err, this.socket instanceof tls.TLSSocket));
  };
  onSocketClose = () => {
    this.fail(new ConnectionError(this.endpoint, "was closed by the server"));
  };
  /** Frames LDAPMessages on the byte stream (RFC 4511 §5.1) and dispatches them by messageID. */
  onData = (chunk) => {
    if (this.closed)
      return;
    try {
      let buf;
      if (this.buffered === 0) {
        buf = chunk;
      } else {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        if (this.needed < 0) {
          const head = Buffer.concat(this.chunks, this.buffered);
          this.chunks = [head];
          this.needed = elementLength(head, 0);
          if (this.needed > MAX_MESSAGE_BYTES) {
            throw new MalformedBerError(`a message announces ${this.needed} bytes`, 0);
          }
        }
        if (this.needed < 0 || this.buffered < this.needed)
          return;
        buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
      }
      let offset = 0;
      while (!this.closed) {
        const len = elementLength(buf, offset);
        if (len > MAX_MESSAGE_BYTES)
          throw new MalformedBerError(`a message announces ${len} bytes`, offset);
        if (len < 0 || offset + len > buf.length)
          break;
        const res = decodeMessage(buf, offset, offset + len, this.decode);
        offset += len;
        this.dispatch(res);
      }
      if (this.closed)
        return;
      if (offset < buf.length) {
        const rest = buf.subarray(offset);
        this.chunks = [rest];
        this.buffered = rest.length;
        this.needed = elementLength(rest, 0);
        if (this.needed > MAX_MESSAGE_BYTES) {
          throw new MalformedBerError(`a message announces ${this.needed} bytes`, offset);
        }
      } else {
        this.chunks = [];
        this.buffered = 0;
        this.needed = -1;
      }
    } catch (err) {
      this.fail(err instanceof SyncreplError ? err : new MalformedBerError(String(err)));
    }
  };
  dispatch(res) {
    if (res.messageId === 0) {
      if (res.kind === "extended" && res.name === NOTICE_OF_DISCONNECTION_OID) {
        this.fail(new ConnectionError(this.endpoint, `was ended by the server (${res.result.diagnosticMessage || "notice of disconnection"})`));
      }
      return;
    }
    const handler = this.handlers.get(res.messageId);
    if (handler)
      handler(res);
  }
  fail(error) {
    if (this.closed)
      return;
    this.closed = true;
    this.handlers.clear();
    this.socket.destroy();
    this.notifyClosed(error);
  }
  /** Sends a request built for a fresh messageID; responses for it go to `handler`. */
  request(build, handler) {
    const id = this.nextId++;
    if (this.nextId > 2147483647)
      this.nextId = 1;
    if (handler)
      this.handlers.set(id, handler);
    if (!this.closed)
      this.socket.write(build(id));
    return id;
  }
  /** Stops delivering responses for a messageID. */
  release(messageId) {
    this.handlers.delete(messageId);
  }
  /** Sends a request and resolves with its single response. */
  requestOnce(build) {
    return new Promise((resolve, reject) => {
      if (this.closed)
        return reject(new ConnectionError(this.endpoint, "is closed"));
      const onClose = (err) => reject(err ?? new ConnectionError(this.endpoint, "was closed"));
      this.waiting.add(onClose);
      const id = this.request(build, (res) => {
        this.release(id);
        this.waiting.delete(onClose);
        resolve(res);
      });
    });
  }
  /** Simple bind (RFC 4511 §4.2); an empty DN and password is an anonymous bind. */
  async bindSimple(dn, password) {
    const res = await this.requestOnce((id) => encodeSimpleBind(id, dn, password));
    if (res.kind !== "bind")
      throw new MalformedBerError("expected a BindResponse");
    if (res.result.resultCode !== 0) {
      throw new BindError(res.result.resultCode, dn, res.result.diagnosticMessage);
    }
  }
  /** SASL EXTERNAL bind (RFC 4422 Appendix A): the identity of the TLS client certificate. */
  async bindSaslExternal(authzId) {
    const res = await this.requestOnce((id) => encodeSaslBind(id, "EXTERNAL", authzId ?? ""));
    if (res.kind !== "bind")
      throw new MalformedBerError("expected a BindResponse");
    if (res.result.resultCode !== 0) {
      throw new BindError(res.result.resultCode, authzId ?? "SASL EXTERNAL", res.result.diagnosticMessage);
    }
  }
  /** An extended operation with a single response (RFC 4511 §4.12). */
  async extended(oid, value) {
    const res = await this.requestOnce((id) => encodeExtended(id, oid, value));
    if (res.kind !== "extended")
      throw new MalformedBerError("expected an ExtendedResponse");
    return res;
  }
  /** StartTLS (RFC 4511 §4.14): upgrade this connection in place. */
  async startTls(tlsOptions) {
    const res = await this.extended(STARTTLS_OID);
    if (res.result.resultCode !== 0) {
      throw new TlsError(this.endpoint, `the server refused StartTLS (${res.result.diagnosticMessage || res.result.resultCode})`);
    }
    const plain = this.socket;
    this.detach(plain);
    const { host: _host, port: _port, ...rest } = tlsOptions;
    this.socket = await new Promise((resolve, reject) => {
      const s = tls.connect({ ...rest, socket: plain }, () => resolve(s));
      s.once("error", (err) => reject(socketError(this.endpoint, err, true)));
    });
    this.attach(this.socket);
  }
  /** Stops reading the socket (TCP backpressure on the server) until `resume()`. */
  pause() {
    if (!this.closed)
      this.socket.pause();
  }
  resume() {
    if (!this.closed)
      this.socket.resume();
  }
  abandon(messageId) {
    this.release(messageId);
    if (!this.closed)
      this.request((id) => encodeAbandon(id, messageId));
  }
  /** Unbind (RFC 4511 §4.3) and close the socket. */
  unbind() {
    if (this.closed)
      return;
    this.closed = true;
    this.handlers.clear();
    this.detach(this.socket);
    this.socket.on("error", () => {
    });
    this.socket.end(encodeUnbind(this.nextId++));
    this.socket.destroySoon();
    setTimeout(() => this.socket.destroy(), 1e3).unref();
    this.notifyClosed(void 0);
  }
  destroy() {
    if (this.closed)
      return;
    this.closed = true;
    this.handlers.clear();
    this.detach(this.socket);
    this.socket.on("error", () => {
    });
    this.socket.destroy();
    this.notifyClosed(void 0);
  }
  notifyClosed(error) {
    for (const w of [...this.waiting])
      w(error);
    this.waiting.clear();
    this.onClose(error);
  }
};
function socketError(endpoint, err, secure) {
  const code = err.code ?? "";
  if (secure && (code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || /certificate|ssl|tls/i.test(err.message) || code.includes("CERT") || code === "DEPTH_ZERO_SELF_SIGNED_CERT")) {
    return new TlsError(endpoint, err.message, { cause: err });
  }
  if (code === "ECONNREFUSED")
    return new ConnectionError(endpoint, "was refused", { cause: err });
  if (code === "ECONNRESET")
    return new ConnectionError(endpoint, "was reset", { cause: err });
  return new ConnectionError(endpoint, `failed: ${err.message}`, { cause: err });
}
function withTimeout(p, ms, endpoint, phase, onTimeout) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.();
      reject(new TimeoutError(endpoint, phase, ms));
    }, ms);
    p.then((v) => {
      clearTimeout(timer);
      resolve(v);
    }, (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// dist/protocol/controls.js
import * as asn1js from "asn1js";
var SYNC_REQUEST_OID = "1.3.6.1.4.1.4203.1.9.1.1";
var SYNC_STATE_OID = "1.3.6.1.4.1.4203.1.9.1.2";
var SYNC_DONE_OID = "1.3.6.1.4.1.4203.1.9.1.3";
var SYNC_INFO_OID = "1.3.6.1.4.1.4203.1.9.1.4";
var CANCEL_REQUEST_OID = "1.3.6.1.1.8";
var TAG_BOOLEAN = 1;
var TAG_OCTET_STRING = 4;
var TAG_ENUMERATED = 10;
var TAG_SEQUENCE = 48;
var TAG_SET = 49;
var TAG_NEW_COOKIE = 128;
var TAG_REFRESH_DELETE = 161;
var TAG_REFRESH_PRESENT = 162;
var TAG_SYNC_ID_SET = 163;
var SYNC_STATES = ["present", "add", "modify", "delete"];
var UUID_SCRATCH = Buffer.alloc(36);
var HEX_CODES = Buffer.from("0123456789abcdef", "latin1");
function formatUuid(b, start) {
  let o = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10)
      UUID_SCRATCH[o++] = 45;
    const byte = b[start + i];
    UUID_SCRATCH[o++] = HEX_CODES[byte >> 4];
    UUID_SCRATCH[o++] = HEX_CODES[byte & 15];
  }
  return UUID_SCRATCH.toString("latin1", 0, 36);
}
function latin12(b, start, end) {
  if (end - start <= 32) {
    let s = "";
    for (let i = start; i < end; i++)
      s += String.fromCharCode(b[i]);
    return s;
  }
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString("latin1");
}
function cookieBytes(cookie) {
  if (/[^\u0000-\u00ff]/.test(cookie)) {
    throw new RangeError("A cookie string must hold one character per byte (latin1); it contains a character above U+00FF.");
  }
  return new Uint8Array(Buffer.from(cookie, "latin1"));
}
function enumeratedValue(b, start, end, at) {
  const len = end - start;
  if (len === 0)
    throw new MalformedBerError("empty ENUMERATED", at);
  const first = b[start];
  if (len === 1)
    return first < 128 ? first : first - 256;
  const second = b[start + 1];
  if (first === 0 && second < 128 || first === 255 && second >= 128) {
    throw new MalformedBerError("ENUMERATED is not minimally encoded (X.690 \xA78.3.2)", at);
  }
  return -1;
}
function booleanValue(b, start, end, at) {
  if (end - start !== 1)
    throw new MalformedBerError("BOOLEAN content must be one octet", at);
  return b[start] !== 0;
}
function syncStateOf(value) {
  const state = value >= 0 ? SYNC_STATES[value] : void 0;
  if (state === void 0) {
    throw new ProtocolError(`unknown sync state ${value < 0 ? "(out of range)" : value} in a Sync State control`);
  }
  return state;
}
function uuidLengthError(what, length) {
  return new ProtocolError(`${what} is ${length} octets; a syncUUID is exactly 16 (RFC 4533 \xA72.1.1)`);
}
function toBytes(block) {
  return new Uint8Array(block.toBER());
}
var asn1Reader = {
  root(bytes) {
    if (bytes.length === 0)
      throw new MalformedBerError("empty value", 0);
    let parsed;
    try {
      parsed = asn1js.fromBER(bytes, {
        parseEmbedded: false,
        copyInput: false,
        maxNodes: Math.max(16, bytes.length),
        maxContentLength: bytes.length
      });
    } catch (err) {
      throw new MalformedBerError(err instanceof Error ? err.message : "not valid BER", 0);
    }
    const { offset, result } = parsed;
    if (offset === -1)
      throw new MalformedBerError(result.error || "not valid BER", 0);
    if (offset !== bytes.length)
      throw new MalformedBerError("trailing bytes after the value", offset);
    return fromAsn1(result, bytes, 0);
  },
  elements(_bytes, tlv) {
    if (tlv.children === void 0)
      throw new MalformedBerError("expected a constructed element", tlv.at);
    return tlv.children;
  }
};
function fromAsn1(block, bytes, at) {
  if (block.error)
    throw new MalformedBerError(block.error, at);
  if (block.idBlock.blockLength !== 1)
    throw new MalformedBerError("high-tag-number form is not used by LDAP", at);
  if (block.lenBlock.isIndefiniteForm) {
    throw new MalformedBerError("indefinite length form is not allowed (RFC 4511 \xA75.1)", at);
  }
  const lenOctets = block.lenBlock.blockLength;
  if (lenOctets < 1 || lenOctets > 5)
    throw new MalformedBerError("length field over 4 octets", at);
  const start = at + 1 + lenOctets;
  const end = start + block.lenBlock.length;
  if (end > bytes.length)
    throw new MalformedBerError("length runs past the end of the value", at);
  const tag = bytes[at];
  if (!block.idBlock.isConstructed)
    return { tag, at, start, end, children: void 0 };
  const value = block.valueBlock.value;
  if (!Array.isArray(value))
    throw new MalformedBerError("constructed element without elements", at);
  const children = [];
  let pos = start;
  for (const child of value) {
    const tlv = fromAsn1(child, bytes, pos);
    children.push(tlv);
    pos = tlv.end;
  }
  if (pos !== end)
    throw new MalformedBerError("elements do not fill their constructed element", at);
  return { tag, at, start, end, children };
}
var fastReader = {
  root(bytes) {
    if (bytes.length === 0)
      throw new MalformedBerError("empty value", 0);
    const tlv = readTlv(bytes, 0, bytes.length);
    if (tlv.end < bytes.length)
      throw new MalformedBerError("trailing bytes after the value", tlv.end);
    return tlv;
  },
  elements(bytes, tlv) {
    if ((tlv.tag & 32) === 0)
      throw new MalformedBerError("expected a constructed element", tlv.at);
    const out = [];
    for (let pos = tlv.start; pos < tlv.end; ) {
      const el = readTlv(bytes, pos, tlv.end);
      out.push(el);
      pos = el.end;
    }
    return out;
  }
};
function readTlv(bytes, pos, end) {
  const tag = bytes[pos];
  if ((tag & 31) === 31)
    throw new MalformedBerError("high-tag-number form is not used by LDAP", pos);
  const len = readLength(bytes, pos + 1, end);
  const start = lengthEnd(bytes, pos + 1);
  return { tag, at: pos, start, end: start + len, children: void 0 };
}
function readLength(bytes, pos, end) {
  if (pos >= end)
    throw new MalformedBerError("truncated length", pos);
  let len = bytes[pos++];
  if (len >= 128) {
    if (len === 128)
      throw new MalformedBerError("indefinite length form is not allowed (RFC 4511 \xA75.1)", pos - 1);
    const octets = len & 127;
    if (octets > 4)
      throw new MalformedBerError("length field over 4 octets", pos - 1);
    if (pos + octets > end)
      throw new MalformedBerError("truncated length", pos - 1);
    len = 0;
    for (let i = 0; i < octets; i++)
      len = len * 256 + bytes[pos++];
  }
  if (pos + len > end)
    throw new MalformedBerError("length runs past the end of its enclosing element", pos);
  return len;
}
function lengthEnd(bytes, pos) {
  const first = bytes[pos];
  return first < 128 ? pos + 1 : pos + 1 + (first & 127);
}
function expectTag(tlv, tag, what) {
  if (tlv === void 0)
    throw new MalformedBerError(`missing ${what}`);
  if (tlv.tag !== tag) {
    throw new MalformedBerError(`expected ${what} (tag 0x${tag.toString(16)}), found tag 0x${tlv.tag.toString(16)}`, tlv.at);
  }
  return tlv;
}
function readCookieAndFlag(bytes, elements, flagDefault) {
  let i = 0;
  let cookie;
  let flag = flagDefault;
  let el = elements[i];
  if (el?.tag === TAG_OCTET_STRING) {
    cookie = latin12(bytes, el.start, el.end);
    el = elements[++i];
  }
  if (el?.tag === TAG_BOOLEAN) {
    flag = booleanValue(bytes, el.start, el.end, el.at);
    i++;
  }
  return { cookie, flag, next: i };
}
function noMore(elements, i, what) {
  const extra = elements[i];
  if (extra !== void 0) {
    throw new MalformedBerError(`unexpected tag 0x${extra.tag.toString(16)} after the end of ${what}`, extra.at);
  }
}
function encodeSyncRequestValue(value) {
  if (value.mode !== "refreshOnly" && value.mode !== "refreshAndPersist") {
    throw new RangeError(`Unknown sync mode ${JSON.stringify(value.mode)}`);
  }
  const elements = [
    new asn1js.Enumerated({ value: value.mode === "refreshAndPersist" ? 3 : 1 })
  ];
  if (value.cookie !== void 0)
    elements.push(new asn1js.OctetString({ valueHex: cookieBytes(value.cookie) }));
  if (value.reloadHint === true)
    elements.push(new asn1js.Boolean({ value: true }));
  return toBytes(new asn1js.Sequence({ value: elements }));
}
function encodeCancelRequestValue(messageId) {
  if (!Number.isInteger(messageId) || messageId < 0 || messageId > 2147483647) {
    throw new RangeError(`A MessageID is an integer from 0 to 2147483647, not ${messageId}`);
  }
  return toBytes(new asn1js.Sequence({ value: [new asn1js.Integer({ value: messageId })] }));
}
function decodeSyncStateValue(bytes) {
  const n = bytes.length;
  if (n === 0)
    throw new MalformedBerError("empty Sync State value", 0);
  if (bytes[0] !== TAG_SEQUENCE)
    throw new MalformedBerError("Sync State value is not a SEQUENCE", 0);
  let len = readLength(bytes, 1, n);
  let pos = lengthEnd(bytes, 1);
  if (pos + len < n)
    throw new MalformedBerError("trailing bytes after the value", pos + len);
  const stateAt = pos;
  if (pos >= n)
    throw new MalformedBerError("missing state", pos);
  if (bytes[pos] !== TAG_ENUMERATED)
    throw new MalformedBerError("expected state ENUMERATED", pos);
  pos++;
  len = readLength(bytes, pos, n);
  pos = lengthEnd(bytes, pos);
  const stateStart = pos;
  pos += len;
  const stateValue = enumeratedValue(bytes, stateStart, pos, stateAt);
  if (pos >= n)
    throw new MalformedBerError("missing entryUUID", pos);
  if (bytes[pos] !== TAG_OCTET_STRING)
    throw new MalformedBerError("expected entryUUID OCTET STRING", pos);
  pos++;
  len = readLength(bytes, pos, n);
  pos = lengthEnd(bytes, pos);
  const uuidStart = pos;
  const uuidLength = len;
  pos += len;
  let cookieStart = -1;
  let cookieEnd = -1;
  if (pos < n) {
    if (bytes[pos] !== TAG_OCTET_STRING)
      throw new MalformedBerError("expected cookie OCTET STRING", pos);
    pos++;
    len = readLength(bytes, pos, n);
    pos = lengthEnd(bytes, pos);
    cookieStart = pos;
    pos += len;
    cookieEnd = pos;
    if (pos < n)
      throw new MalformedBerError("unexpected element after the cookie", pos);
  }
  const state = syncStateOf(stateValue);
  if (uuidLength !== 16)
    throw uuidLengthError("entryUUID", uuidLength);
  const entryUUID = formatUuid(bytes, uuidStart);
  return cookieStart < 0 ? { state, entryUUID } : { state, entryUUID, cookie: latin12(bytes, cookieStart, cookieEnd) };
}
function decodeSyncDoneValue(bytes) {
  if (bytes === void 0 || bytes.length === 0)
    return { refreshDeletes: false };
  const r = asn1Reader;
  const elements = r.elements(bytes, expectTag(r.root(bytes), TAG_SEQUENCE, "syncDoneValue SEQUENCE"));
  const { cookie, flag, next } = readCookieAndFlag(bytes, elements, false);
  noMore(elements, next, "syncDoneValue");
  return cookie === void 0 ? { refreshDeletes: flag } : { cookie, refreshDeletes: flag };
}
function decodeSyncInfoValue(bytes) {
  return decodeSyncInfo(fastReader, bytes);
}
function decodeSyncInfo(r, bytes) {
  const root = r.root(bytes);
  switch (root.tag) {
    case TAG_NEW_COOKIE:
      return { kind: "newcookie", cookie: latin12(bytes, root.start, root.end) };
    case TAG_REFRESH_DELETE:
    case TAG_REFRESH_PRESENT: {
      const kind = root.tag === TAG_REFRESH_DELETE ? "refreshDelete" : "refreshPresent";
      const elements = r.elements(bytes, root);
      const { cookie, flag, next } = readCookieAndFlag(bytes, elements, true);
      noMore(elements, next, kind);
      return cookie === void 0 ? { kind, refreshDone: flag } : { kind, cookie, refreshDone: flag };
    }
    case TAG_SYNC_ID_SET: {
      const elements = r.elements(bytes, root);
      const { cookie, flag, next } = readCookieAndFlag(bytes, elements, false);
      const set = expectTag(elements[next], TAG_SET, "syncUUIDs SET OF");
      noMore(elements, next + 1, "syncIdSet");
      const members = r.elements(bytes, set);
      for (const m of members)
        expectTag(m, TAG_OCTET_STRING, "syncUUID OCTET STRING");
      const entryUUIDs = members.map((m) => {
        if (m.end - m.start !== 16)
          throw uuidLengthError("a syncUUID in a syncIdSet", m.end - m.start);
        return formatUuid(bytes, m.start);
      });
      return cookie === void 0 ? { kind: "syncIdSet", refreshDeletes: flag, entryUUIDs } : { kind: "syncIdSet", cookie, refreshDeletes: flag, entryUUIDs };
    }
    default:
      throw new MalformedBerError(`tag 0x${root.tag.toString(16)} is not a syncInfoValue alternative (0x80, 0xa1, 0xa2, 0xa3)`, 0);
  }
}

// dist/protocol/cookie.js
var CSN = /^\d{14}\.\d{6}Z#[0-9a-f]{6}#([0-9a-f]{3})#[0-9a-f]{6}$/i;
var RID = /^\d{1,3}$/;
var SID = /^[0-9a-f]{1,3}$/i;
function parseCookie(cookie) {
  if (cookie === "")
    return void 0;
  const parsed = { csns: /* @__PURE__ */ new Map() };
  const seen = /* @__PURE__ */ new Set();
  for (const field of cookie.split(",")) {
    const eq = field.indexOf("=");
    if (eq <= 0)
      return void 0;
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (seen.has(key))
      return void 0;
    seen.add(key);
    switch (key) {
      case "rid":
        if (!RID.test(value))
          return void 0;
        parsed.rid = value;
        break;
      case "sid":
        if (!SID.test(value))
          return void 0;
        parsed.sid = value;
        break;
      case "csn":
        for (const csn of value.split(";")) {
          const m = CSN.exec(csn);
          if (m === null)
            return void 0;
          const sid = m[1].toLowerCase();
          const known = parsed.csns.get(sid);
          if (known === void 0 || compareCsn(csn, known) > 0)
            parsed.csns.set(sid, csn);
        }
        break;
      case "delcsn":
        if (!CSN.test(value))
          return void 0;
        parsed.delcsn = value;
        break;
      default:
        return void 0;
    }
  }
  if (!seen.has("rid") && !seen.has("csn"))
    return void 0;
  return parsed;
}
function compareCsn(a, b) {
  if (!CSN.test(a) || !CSN.test(b)) {
    throw new RangeError(`Not comparable as CSNs: ${JSON.stringify(a)} and ${JSON.stringify(b)}`);
  }
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}
function cookieAdvances(previous, next) {
  return compareCookies(previous, next) === "advances";
}
function compareCookies(previous, next) {
  if (previous === void 0)
    return "advances";
  const p = parseCookie(previous);
  const q = parseCookie(next);
  if (p === void 0 || q === void 0)
    return "advances";
  let dropped = false;
  for (const [sid, csn] of p.csns) {
    const nextCsn = q.csns.get(sid);
    if (nextCsn === void 0)
      dropped = true;
    else if (compareCsn(nextCsn, csn) < 0)
      return "backwards";
  }
  return dropped ? "partial" : "advances";
}
function composeCookie(c) {
  const fields = [];
  if (c.rid !== void 0)
    fields.push(`rid=${c.rid}`);
  if (c.sid !== void 0)
    fields.push(`sid=${c.sid}`);
  const sids = [...c.csns.keys()].sort();
  if (sids.length > 0)
    fields.push(`csn=${sids.map((s) => c.csns.get(s)).join(";")}`);
  if (c.delcsn !== void 0)
    fields.push(`delcsn=${c.delcsn}`);
  return fields.join(",");
}
var CookieGuard = class {
  #current;
  constructor(initial) {
    this.#current = initial;
  }
  get current() {
    return this.#current;
  }
  offer(next) {
    const verdict = compareCookies(this.#current, next);
    if (verdict === "advances") {
      this.#current = next;
      return true;
    }
    if (verdict === "backwards")
      return false;
    const p = parseCookie(this.#current);
    const q = parseCookie(next);
    if (p.delcsn !== void 0 || q.delcsn !== void 0)
      return false;
    const csns = new Map(p.csns);
    for (const [sid, csn] of q.csns)
      csns.set(sid, csn);
    this.#current = composeCookie({ rid: q.rid, sid: q.sid, csns });
    return true;
  }
};

// dist/sync/backoff.js
var BACKOFF_DEFAULTS = Object.freeze({
  initialDelay: 500,
  maxDelay: 3e4,
  maxAttempts: Infinity
});
function backoffDelay(attempt, opts, random = Math.random) {
  const ceiling = Math.min(opts.maxDelay, opts.initialDelay * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted)
      return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// dist/sync/syncrepl.js
function normalize(o) {
  if (typeof o.base !== "string")
    throw new InvalidOptionsError("`base` is required: the DN to search under.");
  if (o.cookie !== void 0 && !isByteString(o.cookie)) {
    throw new InvalidOptionsError("`cookie` must hold one character per byte (latin1), as syncrepl() emits them.");
  }
  if (o.sasl && o.sasl.mechanism !== "EXTERNAL") {
    throw new InvalidOptionsError("Only SASL EXTERNAL is supported; use a simple bind otherwise.");
  }
  const mode = o.mode ?? "refreshAndPersist";
  if (mode !== "refreshOnly" && mode !== "refreshAndPersist") {
    throw new InvalidOptionsError("`mode` must be refreshOnly or refreshAndPersist.");
  }
  const backoff = o.reconnect === void 0 || o.reconnect === false ? void 0 : { ...BACKOFF_DEFAULTS, ...o.reconnect === true ? {} : o.reconnect };
  return {
    url: parseLdapUrl(o.url),
    o,
    scope: o.scope ?? "sub",
    filter: o.filter ?? "(objectClass=*)",
    attributes: o.attributes ?? [],
    mode,
    timeout: o.timeout ?? 1e4,
    backoff,
    binary: new Set((o.binaryAttributes ?? []).map((a) => a.toLowerCase()))
  };
}
function syncrepl(options) {
  return Object.assign(session$(options, false), {
    [WITH_RECORDS]: () => session$(options, true)
  });
}
function session$(options, records) {
  return new Observable((subscriber) => {
    let n;
    try {
      n = normalize(options);
    } catch (err) {
      subscriber.error(err);
      return;
    }
    const session = new SyncSession(n, subscriber, records);
    void session.run();
    return () => session.teardown();
  });
}
var WITH_RECORDS = /* @__PURE__ */ Symbol("syncrepl-rx.withRecords");
var ENTRY_RECORD = /* @__PURE__ */ Symbol("syncrepl-rx.entryRecord");
function withEntryRecords(source) {
  const twin = source[WITH_RECORDS];
  return typeof twin === "function" ? twin() : void 0;
}
var SyncSession = class {
  n;
  subscriber;
  records;
  guard = new CookieGuard();
  conn;
  searchId;
  refreshDone = false;
  cancelSent = false;
  ended = false;
  abort = new AbortController();
  saving = Promise.resolve();
  finishSearch;
  constructor(n, subscriber, records) {
    this.n = n;
    this.subscriber = subscriber;
    this.records = records;
  }
  get log() {
    return this.n.o.logger ?? {};
  }
  status(s) {
    this.n.o.onStatus?.(s);
  }
  async run() {
    const { o } = this.n;
    const onStop = () => this.onStop();
    o.stop?.addEventListener("abort", onStop, { once: true });
    try {
      const initial = o.cookie ?? (o.cookieStore ? await o.cookieStore.load() : void 0);
      if (initial !== void 0)
        this.guard = new CookieGuard(initial);
      let attempt = 0;
      for (; ; ) {
        if (this.ended)
          return;
        try {
          this.status({ state: "connecting", attempt });
          await this.runOnce(() => {
            attempt = 0;
          });
          this.status({ state: "closed" });
          this.end(() => this.subscriber.complete());
          return;
        } catch (e) {
          if (this.ended)
            return;
          const err = asSyncreplError(e);
          this.closeConnection();
          if (err instanceof RefreshRequiredError && this.n.backoff) {
            this.log.warn?.("syncrepl: server requires a full reload; restarting without a cookie");
            this.guard = new CookieGuard();
            this.subscriber.next({ type: "reset", reason: "refreshRequired" });
            continue;
          }
          const backoff = this.n.backoff;
          if (!backoff || !err.retryable || attempt + 1 >= backoff.maxAttempts)
            throw err;
          if (o.stop?.aborted) {
            this.end(() => this.subscriber.complete());
            return;
          }
          const delayMs = backoffDelay(attempt++, backoff, o.random);
          this.log.warn?.(`syncrepl: ${err.message} Retrying in ${delayMs} ms.`, { code: err.code });
          this.status({ state: "backoff", delayMs, error: err });
          const slept = await sleep(delayMs, this.abort.signal);
          if (!slept) {
            if (!this.ended)
              this.end(() => this.subscriber.complete());
            return;
          }
        }
      }
    } catch (e) {
      const err = asSyncreplError(e);
      this.status({ state: "closed", error: err });
      this.end(() => this.subscriber.error(err));
    } finally {
      o.stop?.removeEventListener("abort", onStop);
    }
  }
  end(notify) {
    if (this.ended)
      return;
    this.ended = true;
    this.closeConnection();
    notify();
  }
  /** One connection: connect, bind, search until the search ends or fails. */
  async runOnce(onRefreshDone) {
    const { n } = this;
    const { o } = n;
    this.refreshDone = false;
    this.cancelSent = false;
    const conn = await LdapConnection.connect({
      url: n.url,
      tls: o.tls,
      startTLS: o.startTLS,
      timeout: n.timeout,
      decode: { binaryAttributes: n.binary, records: this.records }
    });
    if (this.ended) {
      conn.destroy();
      return "complete";
    }
    this.conn = conn;
    const unflow = o.flow?.observe((paused) => paused ? conn.pause() : conn.resume());
    const closed = new Promise((_, reject) => {
      conn.onClose = (err) => {
        unflow?.();
        reject(err ?? new ProtocolError("the connection closed during the search"));
      };
    });
    closed.catch(() => {
    });
    const bind = o.sasl ? conn.bindSaslExternal(o.sasl.authzId) : conn.bindSimple(o.bindDN ?? "", o.password ?? "");
    await withTimeout(Promise.race([bind, closed]), n.timeout, conn.endpoint, "binding", () => conn.destroy());
    if (this.ended)
      return "complete";
    this.status({ state: "refreshing" });
    const cookie = this.guard.current;
    return await new Promise((resolve, reject) => {
      this.finishSearch = resolve;
      closed.catch(reject);
      const control = {
        oid: SYNC_REQUEST_OID,
        critical: true,
        value: encodeSyncRequestValue({ mode: n.mode, cookie, reloadHint: o.reloadHint })
      };
      try {
        this.searchId = conn.request((id) => encodeSearch(id, { base: o.base, scope: n.scope, filter: n.filter, attributes: n.attributes }, [
          control
        ]), (res) => {
          try {
            this.onResponse(res, onRefreshDone);
          } catch (err) {
            reject(asSyncreplError(err));
          }
        });
      } catch (err) {
        reject(new InvalidOptionsError(`Invalid search filter ${JSON.stringify(n.filter)}: ${String(err)}`));
      }
    }).finally(() => {
      this.finishSearch = void 0;
    });
  }
  onResponse(res, onRefreshDone) {
    switch (res.kind) {
      case "searchEntry": {
        const control = res.controls.find((c) => c.oid === SYNC_STATE_OID);
        if (!control?.value)
          throw new ProtocolError(`entry ${JSON.stringify(res.dn)} came without a Sync State control`);
        const state = decodeSyncStateValue(control.value);
        const cookie = this.advance(state.cookie);
        const base = { dn: res.dn, entryUUID: state.entryUUID, ...cookie === void 0 ? {} : { cookie } };
        if (state.state === "delete") {
          this.emit({ type: "delete", ...base }, cookie);
        } else {
          const message = { type: state.state, ...base, attributes: res.attributes };
          if (res.record !== void 0)
            message[ENTRY_RECORD] = res.record;
          this.emit(message, cookie);
        }
        return;
      }
      case "intermediate": {
        if (res.name !== SYNC_INFO_OID)
          return;
        if (!res.value)
          throw new ProtocolError("a Sync Info message had no value");
        const info = decodeSyncInfoValue(res.value);
        const cookie = this.advance(info.cookie);
        const withCookie = cookie === void 0 ? {} : { cookie };
        switch (info.kind) {
          case "newcookie":
            if (cookie !== void 0)
              this.emit({ type: "cookie", cookie }, cookie);
            return;
          case "refreshDelete":
          case "refreshPresent":
            this.emit({ type: info.kind, refreshDone: info.refreshDone, ...withCookie }, cookie);
            if (info.refreshDone)
              this.onRefreshDone(onRefreshDone);
            return;
          case "syncIdSet":
            this.emit({
              type: "syncIdSet",
              refreshDeletes: info.refreshDeletes,
              entryUUIDs: info.entryUUIDs,
              ...withCookie
            }, cookie);
            return;
        }
        return;
      }
      case "searchDone": {
        const { resultCode, diagnosticMessage } = res.result;
        this.searchId = void 0;
        if (resultCode === 0) {
          const control = res.controls.find((c) => c.oid === SYNC_DONE_OID);
          const done = decodeSyncDoneValue(control?.value ?? new Uint8Array(0));
          const cookie = this.advance(done.cookie);
          this.emit({
            type: "done",
            refreshDeletes: done.refreshDeletes,
            ...cookie === void 0 ? {} : { cookie }
          }, cookie);
          this.finishSearch?.("complete");
          return;
        }
        if (resultCode === 118 && this.cancelSent) {
          this.finishSearch?.("complete");
          return;
        }
        if (resultCode === 4096)
          throw new RefreshRequiredError(diagnosticMessage);
        if (resultCode === 12)
          throw new SyncNotSupportedError(this.n.o.base, diagnosticMessage);
        throw new LdapResultError(resultCode, "the syncrepl search", diagnosticMessage);
      }
      default:
        return;
    }
  }
  onRefreshDone(onRefreshDone) {
    if (this.refreshDone)
      return;
    this.refreshDone = true;
    onRefreshDone();
    this.status({ state: "persisting" });
    if (this.n.o.stop?.aborted)
      this.sendCancel();
  }
  /**
   * Only cookies that move no serverID's CSN backwards are passed on and stored; a stale one is
   * dropped from the message (never stored) and logged.
   */
  advance(cookie) {
    if (cookie === void 0 || cookie === "")
      return void 0;
    if (this.guard.offer(cookie))
      return this.guard.current;
    this.log.warn?.("syncrepl: ignored a cookie that would move a CSN backwards");
    return void 0;
  }
  emit(message, cookie) {
    this.subscriber.next(message);
    const store = this.n.o.cookieStore;
    if (cookie !== void 0 && store) {
      this.saving = this.saving.then(() => store.save(cookie)).catch((err) => this.log.warn?.(`syncrepl: could not save the cookie: ${String(err)}`));
    }
  }
  onStop() {
    if (!this.conn || this.conn.isClosed) {
      this.abort.abort();
      return;
    }
    if (this.n.mode === "refreshOnly")
      return;
    if (this.refreshDone)
      this.sendCancel();
  }
  /** Ends persist mode with the Cancel operation (RFC 3909), falling back to abandon. */
  sendCancel() {
    const conn = this.conn;
    const target = this.searchId;
    if (!conn || conn.isClosed || target === void 0 || this.cancelSent)
      return;
    this.cancelSent = true;
    const fallback = () => {
      if (this.searchId === target) {
        conn.abandon(target);
        this.searchId = void 0;
      }
      this.finishSearch?.("complete");
    };
    const timer = setTimeout(fallback, this.n.timeout);
    timer.unref?.();
    conn.extended(CANCEL_REQUEST_OID, encodeCancelRequestValue(target)).then((res) => {
      clearTimeout(timer);
      if (res.result.resultCode !== 0) {
        this.log.debug?.(`syncrepl: Cancel answered ${res.result.resultCode}; abandoning instead`);
        fallback();
      }
    }, () => {
      clearTimeout(timer);
      fallback();
    });
  }
  closeConnection() {
    const conn = this.conn;
    this.conn = void 0;
    if (!conn || conn.isClosed)
      return;
    if (this.searchId !== void 0)
      conn.abandon(this.searchId);
    this.searchId = void 0;
    conn.unbind();
  }
  teardown() {
    this.abort.abort();
    if (this.ended)
      return;
    this.ended = true;
    this.closeConnection();
    this.status({ state: "closed" });
  }
};
function isByteString(s) {
  for (let i = 0; i < s.length; i++)
    if (s.charCodeAt(i) > 255)
      return false;
  return true;
}
function asSyncreplError(e) {
  if (e instanceof SyncreplError)
    return e;
  return new ProtocolError(e instanceof Error ? e.message : String(e));
}

// dist/sync/messages.js
function getAttribute(attributes, name) {
  const direct2 = attributes[name];
  if (direct2 !== void 0)
    return direct2;
  const lower = name.toLowerCase();
  for (const key of Object.keys(attributes)) {
    if (key.toLowerCase() === lower)
      return attributes[key];
  }
  return void 0;
}

// dist/sync/cookie-store.js
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
function memoryCookieStore(initial) {
  let cookie = initial;
  return {
    get cookie() {
      return cookie;
    },
    load: () => cookie,
    save: (c) => {
      cookie = c;
    }
  };
}
function fileCookieStore(path) {
  return {
    async load() {
      try {
        const text = await readFile(path, "latin1");
        const cookie = text.replace(/\r?\n$/, "");
        return cookie === "" ? void 0 : cookie;
      } catch (err) {
        if (err.code === "ENOENT")
          return void 0;
        throw err;
      }
    },
    async save(cookie) {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, `${cookie}
`, { encoding: "latin1", mode: 384 });
      await rename(tmp, path);
    }
  };
}

// dist/sync/flow.js
var FlowControl = class {
  #paused = false;
  #listeners = /* @__PURE__ */ new Set();
  get paused() {
    return this.#paused;
  }
  pause() {
    this.#set(true);
  }
  resume() {
    this.#set(false);
  }
  /** Calls `listener` with the current state now and on every change; returns the unsubscribe. */
  observe(listener) {
    this.#listeners.add(listener);
    listener(this.#paused);
    return () => this.#listeners.delete(listener);
  }
  #set(paused) {
    if (this.#paused === paused)
      return;
    this.#paused = paused;
    for (const l of [...this.#listeners])
      l(paused);
  }
};

// dist/replica/replicate.js
import { Observable as Observable2, defer } from "rxjs";

// dist/stores/codec.js
var CorruptReplicaError = class extends Error {
  constructor(reason2) {
    super(`Stored replica state is corrupt: ${reason2}.`);
    this.name = "CorruptReplicaError";
  }
};
var OCTET_STRING2 = 4;
var BYTES = 128;
var SEQUENCE2 = 48;
var SET2 = 49;
var NON_ASCII = /[^\u0000-\u007f]/;
function encodeEntryRecord(entry) {
  if (typeof entry.dn !== "string")
    throw new TypeError("An entry needs a string dn.");
  let list = "";
  for (const name of Object.keys(entry.attributes)) {
    const values = entry.attributes[name];
    if (!Array.isArray(values))
      throw notValues(name, entry.dn);
    let set = "";
    for (const value of values) {
      if (typeof value === "string")
        set += element(OCTET_STRING2, bytesOf(value));
      else if (value instanceof Uint8Array)
        set += element(BYTES, latin1Of(value));
      else
        throw notValues(name, entry.dn);
    }
    list += element(SEQUENCE2, element(OCTET_STRING2, bytesOf(name)) + element(SET2, set));
  }
  return element(OCTET_STRING2, bytesOf(entry.dn)) + element(SEQUENCE2, list);
}
function decodeRecord(record, entryUUID) {
  const bytes = typeof record === "string" ? Buffer.from(record, "latin1") : Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  try {
    return decodeEntryRecord(bytes);
  } catch (error) {
    throw new CorruptReplicaError(`entry ${entryUUID} is not a readable record (${error.message})`);
  }
}
function element(tag, content) {
  const n = content.length;
  if (n < 128)
    return String.fromCharCode(tag, n) + content;
  if (n < 256)
    return String.fromCharCode(tag, 129, n) + content;
  if (n < 65536)
    return String.fromCharCode(tag, 130, n >>> 8, n & 255) + content;
  if (n < 16777216)
    return String.fromCharCode(tag, 131, n >>> 16, n >>> 8 & 255, n & 255) + content;
  return String.fromCharCode(tag, 132, n >>> 24, n >>> 16 & 255, n >>> 8 & 255, n & 255) + content;
}
function bytesOf(text) {
  return NON_ASCII.test(text) ? Buffer.from(text, "utf8").toString("latin1") : text;
}
function latin1Of(bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}
function notValues(name, dn) {
  return new TypeError(`Attribute ${JSON.stringify(name)} of ${dn} must be an array of strings or Uint8Arrays.`);
}

// dist/stores/memory.js
var MemoryStore = class {
  /** entryUUID → record */
  #entries = /* @__PURE__ */ new Map();
  #cookie;
  constructor(init = {}) {
    for (const [entryUUID, entry] of init.entries ?? [])
      this.#entries.set(entryUUID, encodeEntryRecord(entry));
    this.#cookie = init.cookie;
  }
  get cookie() {
    return this.#cookie;
  }
  get size() {
    return this.#entries.size;
  }
  get(entryUUID) {
    const record = this.#entries.get(entryUUID);
    return record === void 0 ? void 0 : decodeRecord(record, entryUUID);
  }
  has(entryUUID) {
    return this.#entries.has(entryUUID);
  }
  entryUUIDs() {
    return this.#entries.keys();
  }
  *entries() {
    for (const [entryUUID, record] of this.#entries)
      yield [entryUUID, decodeRecord(record, entryUUID)];
  }
  commit(batch) {
    const records = [];
    for (const [entryUUID, entry] of batch.mutations) {
      records.push([
        entryUUID,
        entry === null ? null : batch.records?.get(entryUUID) ?? encodeEntryRecord(entry)
      ]);
    }
    for (const [entryUUID, value] of records) {
      if (value === null)
        this.#entries.delete(entryUUID);
      else
        this.#entries.set(entryUUID, value);
    }
    this.#cookie = batch.cookie;
  }
};

// dist/stores/store.js
var ReplicaStoreBusyError = class extends Error {
  constructor(message) {
    super(message);
    this.name = "ReplicaStoreBusyError";
  }
};
var defaultReplicaLogger = {
  info: () => {
  },
  warn: (message) => console.warn(message)
};
function canonicalIdentity(identity) {
  const attributes = [...new Set((identity.attributes ?? []).map((name) => name.toLowerCase()))].sort();
  return {
    url: String(identity.url),
    bindDN: identity.bindDN ?? "",
    base: String(identity.base),
    scope: identity.scope ?? "sub",
    filter: identity.filter ?? "(objectClass=*)",
    attributes
  };
}
function sameIdentity(a, b) {
  return JSON.stringify(canonicalIdentity(a)) === JSON.stringify(canonicalIdentity(b));
}
function describeIdentity(identity) {
  const id = canonicalIdentity(identity);
  const who = id.bindDN === "" ? "anonymous" : id.bindDN;
  const attrs = id.attributes.length === 0 ? "*" : id.attributes.join(",");
  return `${id.url} base=${JSON.stringify(id.base)} scope=${id.scope} filter=${id.filter} attributes=${attrs} as ${who}`;
}

// dist/replica/diff.js
function diffAttributes(oldAttributes, newAttributes) {
  const diff = {};
  const before = groupByName(oldAttributes);
  const after = groupByName(newAttributes);
  for (const [lower, now] of after) {
    const was = before.get(lower);
    const change = diffValues(was?.values ?? [], now.values);
    if (change !== void 0)
      setOwn(diff, now.values.length > 0 || was === void 0 ? now.name : was.name, change);
  }
  for (const [lower, was] of before) {
    if (after.has(lower))
      continue;
    const change = diffValues(was.values, []);
    if (change !== void 0)
      setOwn(diff, was.name, change);
  }
  return diff;
}
function isEmptyDiff(diff) {
  for (const _ in diff)
    return false;
  return true;
}
function valueKey(value) {
  if (typeof value === "string") {
    return ASCII.test(value) ? value : bytesToKey(utf82.encode(value));
  }
  return bytesToKey(value);
}
var utf82 = new TextEncoder();
var byteChars = new TextDecoder("latin1");
var ASCII = /^[\x00-\x7f]*$/;
function bytesToKey(bytes) {
  return byteChars.decode(bytes);
}
function groupByName(attributes) {
  const byName = /* @__PURE__ */ new Map();
  for (const name of Object.keys(attributes)) {
    const values = attributes[name] ?? [];
    const lower = name.toLowerCase();
    const seen = byName.get(lower);
    if (seen === void 0)
      byName.set(lower, { name, values });
    else
      seen.values = [...seen.values, ...values];
  }
  return byName;
}
function diffValues(before, after) {
  if (before.length === 1 && after.length === 1 && sameValue(before[0], after[0]))
    return void 0;
  if (before.length === 0 && after.length === 0)
    return void 0;
  const beforeKeys = new Set(before.map(valueKey));
  const afterKeys = new Set(after.map(valueKey));
  const added = onlyIn(after, beforeKeys);
  const removed = onlyIn(before, afterKeys);
  if (added.length === 0 && removed.length === 0)
    return void 0;
  const change = { added, removed };
  if (before.length === 0)
    change.appeared = true;
  if (after.length === 0)
    change.vanished = true;
  return change;
}
function onlyIn(values, exclude) {
  const out = [];
  const emitted = /* @__PURE__ */ new Set();
  for (const value of values) {
    const key = valueKey(value);
    if (exclude.has(key) || emitted.has(key))
      continue;
    emitted.add(key);
    out.push(value);
  }
  return out;
}
function sameValue(a, b) {
  if (typeof a === "string" && typeof b === "string")
    return a === b;
  return valueKey(a) === valueKey(b);
}

// dist/operators/subscribeFor.js
import { Subject, takeUntil } from "rxjs";
function subscribeFor(subscriber, source, observer) {
  const closed = new Subject();
  subscriber.add(() => closed.next());
  return source.pipe(takeUntil(closed)).subscribe(observer);
}

// dist/replica/replicate.js
var DEFAULT_MAX_BATCH = 1e3;
var activeStores = /* @__PURE__ */ new WeakSet();
function replicate(options = {}) {
  const maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
  const logger = options.logger ?? defaultReplicaLogger;
  return (source) => new Observable2((subscriber) => {
    const store = options.store ?? new MemoryStore();
    if (activeStores.has(store)) {
      subscriber.error(new ReplicaStoreBusyError("This ReplicaStore is already used by another replicate() subscription. A store holds one replica: give each subscription its own store, or share() one subscription."));
      return;
    }
    activeStores.add(store);
    let staged = /* @__PURE__ */ new Map();
    let records = /* @__PURE__ */ new Map();
    let cookie = store.cookie;
    let safeCookie = store.cookie;
    let refresh = newRefresh(store.cookie);
    let lastCommit;
    let ended = false;
    const read = (entryUUID) => {
      const entry = staged.get(entryUUID);
      return entry === void 0 ? store.get(entryUUID) : entry ?? void 0;
    };
    const knows = (entryUUID) => {
      const entry = staged.get(entryUUID);
      return entry === void 0 ? store.has(entryUUID) : entry !== null;
    };
    const stage = (entryUUID, entry, record) => {
      staged.set(entryUUID, entry);
      if (record !== void 0)
        records.set(entryUUID, record);
      else if (records.size > 0)
        records.delete(entryUUID);
      if (refresh !== void 0 && staged.size >= maxBatch)
        commit();
    };
    const commit = () => {
      if (staged.size === 0 && safeCookie === store.cookie)
        return lastCommit;
      const mutations = staged;
      const batchRecords = records;
      staged = /* @__PURE__ */ new Map();
      records = /* @__PURE__ */ new Map();
      const result = store.commit({ mutations, records: batchRecords, cookie: safeCookie });
      if (result === void 0)
        return lastCommit;
      lastCommit = result;
      result.catch((error) => subscriber.error(error));
      return result;
    };
    const replicaUUIDs = function* () {
      for (const entryUUID of store.entryUUIDs())
        if (!staged.has(entryUUID))
          yield entryUUID;
      for (const [entryUUID, entry] of staged)
        if (entry !== null)
          yield entryUUID;
    };
    const sweep = (presented, out) => {
      const gone = [];
      for (const entryUUID of replicaUUIDs())
        if (!presented.has(entryUUID))
          gone.push(entryUUID);
      for (const entryUUID of gone)
        deleteEntry(entryUUID, out);
    };
    const deleteEntry = (entryUUID, out) => {
      const old = read(entryUUID);
      if (old === void 0)
        return;
      stage(entryUUID, null);
      out.push({ type: "delete", entryUUID, dn: old.dn, old });
    };
    const putEntry = (entryUUID, dn, attributes, record, out) => {
      const old = read(entryUUID);
      const entry = { dn, attributes };
      if (old === void 0) {
        stage(entryUUID, entry, record);
        out.push({ type: "add", entryUUID, dn, entry });
        return;
      }
      const diff = diffAttributes(old.attributes, attributes);
      if (old.dn !== dn) {
        stage(entryUUID, entry, record);
        out.push({ type: "rename", entryUUID, oldDn: old.dn, newDn: dn, old, new: entry, diff });
      } else if (!isEmptyDiff(diff)) {
        stage(entryUUID, entry, record);
        out.push({ type: "modify", entryUUID, dn, old, new: entry, diff });
      }
    };
    const noteCookie = (next) => {
      if (next === void 0)
        return;
      cookie = next;
      if (refresh === void 0)
        safeCookie = next;
    };
    const endPresentPhase = (current, endCookie, out) => {
      const moved = cookieMoved(current.startCookie, endCookie);
      if (current.startCookie === void 0 || current.presented.size > 0 || moved) {
        sweep(current.presented, out);
        current.swept = true;
      }
      current.presented = /* @__PURE__ */ new Set();
      noteCookie(endCookie);
      safeCookie = cookie;
      commit();
    };
    const completeRefresh = (current, endCookie, out) => {
      if (current.startCookie === void 0 && !current.swept)
        sweep(current.presented, out);
      if (current.unknownPresents.size > 0) {
        logger.warn(`The server presented ${current.unknownPresents.size} entries as unchanged that this replica does not hold; the replica may be incomplete. Restart from an empty store (no cookie) to reload it.`);
      }
      refresh = void 0;
      noteCookie(endCookie);
      safeCookie = cookie;
      commit();
      out.push(cookie === void 0 ? { type: "ready" } : { type: "ready", cookie });
    };
    const beginRefresh = () => {
      refresh ??= newRefresh(cookie);
      return refresh;
    };
    const apply = (message) => {
      const out = [];
      switch (message.type) {
        case "present":
        case "add":
        case "modify": {
          const current = message.type === "present" || message.type === "add" && message.cookie === void 0 ? beginRefresh() : refresh;
          current?.presented.add(message.entryUUID);
          if (message.type === "present" && isEmptyAttributes(message.attributes)) {
            if (current !== void 0 && !knows(message.entryUUID)) {
              current.unknownPresents.add(message.entryUUID);
            }
          } else {
            current?.unknownPresents.delete(message.entryUUID);
            const record = message[ENTRY_RECORD];
            putEntry(message.entryUUID, message.dn, message.attributes, record, out);
          }
          noteCookie(message.cookie);
          break;
        }
        case "delete": {
          const current = message.cookie === void 0 ? beginRefresh() : refresh;
          current?.presented.delete(message.entryUUID);
          deleteEntry(message.entryUUID, out);
          noteCookie(message.cookie);
          break;
        }
        case "syncIdSet": {
          if (message.refreshDeletes) {
            for (const entryUUID of message.entryUUIDs) {
              refresh?.presented.delete(entryUUID);
              deleteEntry(entryUUID, out);
            }
          } else {
            const current = beginRefresh();
            for (const entryUUID of message.entryUUIDs) {
              current.presented.add(entryUUID);
              if (!knows(entryUUID))
                current.unknownPresents.add(entryUUID);
            }
          }
          noteCookie(message.cookie);
          break;
        }
        case "cookie":
          noteCookie(message.cookie);
          break;
        case "refreshPresent": {
          const current = beginRefresh();
          endPresentPhase(current, message.cookie, out);
          if (message.refreshDone)
            completeRefresh(current, message.cookie, out);
          break;
        }
        case "refreshDelete": {
          const current = beginRefresh();
          noteCookie(message.cookie);
          if (message.refreshDone)
            completeRefresh(current, message.cookie, out);
          break;
        }
        case "done": {
          const current = beginRefresh();
          if (!message.refreshDeletes)
            endPresentPhase(current, message.cookie, out);
          completeRefresh(current, message.cookie, out);
          break;
        }
        case "reset":
          cookie = void 0;
          safeCookie = void 0;
          refresh = newRefresh(void 0);
          out.push({ type: "reset", reason: message.reason });
          break;
      }
      if (refresh === void 0)
        commit();
      return out;
    };
    const finish = (then) => {
      ended = true;
      let pending;
      try {
        pending = commit();
      } catch (error) {
        subscriber.error(error);
        return;
      }
      if (pending === void 0)
        then();
      else
        pending.then(then, (error) => subscriber.error(error));
    };
    const subscription = subscribeFor(subscriber, withEntryRecords(source) ?? source, {
      next: (message) => {
        let out;
        try {
          out = apply(message);
        } catch (error) {
          subscriber.error(error);
          return;
        }
        for (const change of out)
          subscriber.next(change);
      },
      error: (error) => finish(() => subscriber.error(error)),
      complete: () => {
        if (!subscriber.closed)
          finish(() => subscriber.complete());
      }
    });
    return () => {
      subscription.unsubscribe();
      activeStores.delete(store);
      if (ended)
        return;
      try {
        commit()?.catch((error) => logger.warn(`Saving the replica on unsubscribe failed: ${String(error)}`));
      } catch (error) {
        logger.warn(`Saving the replica on unsubscribe failed: ${String(error)}`);
      }
    };
  });
}
function replicateFrom(store, connect, options = {}) {
  return defer(() => connect(store.cookie).pipe(replicate({ ...options, store })));
}
function newRefresh(startCookie) {
  return { startCookie, presented: /* @__PURE__ */ new Set(), swept: false, unknownPresents: /* @__PURE__ */ new Set() };
}
function cookieMoved(start, next) {
  if (next === void 0 || next === start)
    return false;
  if (start === void 0)
    return true;
  const before = parseCookie(start);
  const after = parseCookie(next);
  if (before === void 0 || after === void 0)
    return true;
  for (const [sid, csn] of after.csns) {
    const old = before.csns.get(sid);
    if (old === void 0 || compareCsn(csn, old) > 0)
      return true;
  }
  return after.delcsn !== void 0 && after.delcsn !== before.delcsn;
}
function isEmptyAttributes(attributes) {
  for (const _ in attributes)
    return false;
  return true;
}

// dist/operators/foldRenames.js
import { Observable as Observable3, asyncScheduler } from "rxjs";
var FOLD_RENAMES_WITHIN = 50;
function foldRenames(config = {}) {
  const within = config.within ?? FOLD_RENAMES_WITHIN;
  const scheduler = config.scheduler ?? asyncScheduler;
  return (source) => new Observable3((subscriber) => {
    let held;
    let timer;
    const release = () => {
      const change = held;
      held = void 0;
      timer?.unsubscribe();
      timer = void 0;
      return change;
    };
    const hold = (change) => {
      held = change;
      if (Number.isFinite(within)) {
        timer = scheduler.schedule(() => {
          const expired = release();
          if (expired !== void 0)
            subscriber.next(expired);
        }, within);
      }
    };
    const subscription = subscribeFor(subscriber, source, {
      next: (change) => {
        const previous = release();
        const out = [];
        if (previous !== void 0 && change.type === "add" && change.entryUUID === previous.entryUUID) {
          const folded = fold(previous, change);
          if (folded !== void 0)
            out.push(folded);
        } else {
          if (previous !== void 0)
            out.push(previous);
          if (change.type === "delete")
            hold(change);
          else
            out.push(change);
        }
        for (const emitted of out)
          subscriber.next(emitted);
      },
      // A delete that arrived before the end is a fact: it is not lost to an error.
      error: (error) => {
        const last = release();
        if (last !== void 0)
          subscriber.next(last);
        subscriber.error(error);
      },
      complete: () => {
        if (subscriber.closed)
          return;
        const last = release();
        if (last !== void 0)
          subscriber.next(last);
        subscriber.complete();
      }
    });
    return () => {
      subscription.unsubscribe();
      release();
    };
  });
}
function fold(deleted, added) {
  const diff = diffAttributes(deleted.old.attributes, added.entry.attributes);
  const { entryUUID } = added;
  if (deleted.dn !== added.dn) {
    return {
      type: "rename",
      entryUUID,
      oldDn: deleted.dn,
      newDn: added.dn,
      old: deleted.old,
      new: added.entry,
      diff
    };
  }
  if (isEmptyDiff(diff))
    return void 0;
  return { type: "modify", entryUUID, dn: added.dn, old: deleted.old, new: added.entry, diff };
}

// dist/operators/mapChanges.js
import { Observable as Observable4 } from "rxjs";
function mapChanges(project) {
  return (source) => new Observable4((subscriber) => subscribeFor(subscriber, source, {
    next: (change) => {
      let projected;
      try {
        projected = project(change);
      } catch (error) {
        subscriber.error(error);
        return;
      }
      if (projected === void 0)
        return;
      if (!isList(projected)) {
        subscriber.next(projected);
        return;
      }
      for (const out of projected)
        subscriber.next(out);
    },
    error: (error) => subscriber.error(error),
    complete: () => subscriber.complete()
  }));
}
function isList(projected) {
  return Array.isArray(projected);
}

// dist/operators/unfoldRenames.js
function unfoldRenames() {
  return mapChanges((change) => change.type === "rename" ? [
    { type: "delete", entryUUID: change.entryUUID, dn: change.oldDn, old: change.old },
    { type: "add", entryUUID: change.entryUUID, dn: change.newDn, entry: change.new }
  ] : change);
}

// dist/operators/keepEntries.js
function keepEntries(predicate) {
  return mapChanges((change) => {
    switch (change.type) {
      case "add":
        return predicate(change.entry) ? change : void 0;
      case "delete":
        return predicate(change.old) ? change : void 0;
      case "modify":
      case "rename": {
        const before = predicate(change.old);
        const after = predicate(change.new);
        if (before && after)
          return change;
        if (before) {
          return { type: "delete", entryUUID: change.entryUUID, dn: change.old.dn, old: change.old };
        }
        if (after) {
          return { type: "add", entryUUID: change.entryUUID, dn: change.new.dn, entry: change.new };
        }
        return void 0;
      }
      default:
        return change;
    }
  });
}

// dist/operators/keepObjectClasses.js
function keepObjectClasses(...objectClasses) {
  const wanted = new Set(objectClasses.map((name) => name.toLowerCase()));
  return keepEntries((entry) => hasObjectClass(entry, wanted));
}
var utf83 = new TextDecoder();
function hasObjectClass(entry, wanted) {
  for (const value of getAttribute(entry.attributes, "objectClass") ?? []) {
    const name = typeof value === "string" ? value : utf83.decode(value);
    if (wanted.has(name.toLowerCase()))
      return true;
  }
  return false;
}

// dist/operators/pickAttributes.js
function pickAttributes(...names2) {
  const wanted = new Set(names2.map((name) => name.toLowerCase()));
  const keep = (name) => wanted.has(name.toLowerCase());
  const project = (entry) => ({ dn: entry.dn, attributes: pick(entry.attributes, keep) });
  return mapChanges((change) => {
    switch (change.type) {
      case "add":
        return { ...change, entry: project(change.entry) };
      case "delete":
        return { ...change, old: project(change.old) };
      case "modify": {
        const diff = pick(change.diff, keep);
        if (isEmptyDiff(diff))
          return void 0;
        return { ...change, old: project(change.old), new: project(change.new), diff };
      }
      case "rename":
        return {
          ...change,
          old: project(change.old),
          new: project(change.new),
          diff: pick(change.diff, keep)
        };
      default:
        return change;
    }
  });
}
function pick(record, keep) {
  const picked = {};
  for (const name of Object.keys(record)) {
    if (keep(name))
      setOwn(picked, name, record[name]);
  }
  return picked;
}

// dist/stores/lmdb.js
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
var LMDB_STORE_FORMAT = 2;
var LmdbStore = class _LmdbStore {
  path;
  #env;
  #cookie;
  /** Every entryUUID held, pending batches included. */
  #keys;
  #pending = /* @__PURE__ */ new Map();
  #batches = 0;
  #writing = Promise.resolve();
  #failure;
  #closed = false;
  #lock;
  constructor(path, env, cookie, keys, lock) {
    this.path = path;
    this.#env = env;
    this.#cookie = cookie;
    this.#keys = keys;
    this.#lock = lock;
  }
  /**
   * Opens (or creates) the store in directory `path`. Stored state that was built for another
   * identity, written by another format version, or cannot be decoded is discarded with a
   * warning through `logger`, and the store starts empty: the next refresh is then a full one.
   */
  static async open(path, options) {
    lmdbOpen ??= (await import("lmdb")).open;
    const logger = options.logger ?? defaultReplicaLogger;
    const identity = canonicalIdentity(options.identity);
    mkdirSync(path, { recursive: true });
    const lock = acquireLock(path);
    try {
      return await _LmdbStore.#open(path, identity, logger, lock);
    } catch (error) {
      lock.release();
      throw error;
    }
  }
  static async #open(path, identity, logger, lock) {
    const damage = checkLmdbFile(join(path, "data.mdb"));
    if (damage !== void 0) {
      logger.warn(`${discarding(path, damage)}`);
      moveAside(path);
    }
    let env = openEnvironment(path);
    let loaded;
    const snapshot = env.root.useReadTransaction();
    try {
      const problem = inspect(env, snapshot, identity, path);
      if (problem === void 0) {
        loaded = load(env, snapshot);
      } else {
        (problem.level === "info" ? logger.info : logger.warn).call(logger, problem.message);
      }
    } catch (error) {
      logger.warn(discarding(path, reason(error)));
    } finally {
      snapshot.done();
    }
    if (loaded === void 0) {
      try {
        reset(env, identity);
      } catch (error) {
        logger.warn(discarding(path, reason(error)));
        await env.root.close().catch(() => {
        });
        moveAside(path);
        env = openEnvironment(path);
        reset(env, identity);
      }
      loaded = { cookie: void 0, keys: /* @__PURE__ */ new Set() };
    } else {
      logger.info(`Replica store at ${path}: ${loaded.keys.size} entries, ${loaded.cookie === void 0 ? "no cookie" : "with a cookie"}, for ${describeIdentity(identity)}.`);
    }
    return new _LmdbStore(path, env, loaded.cookie, loaded.keys, lock);
  }
  get cookie() {
    return this.#cookie;
  }
  get size() {
    return this.#keys.size;
  }
  get(entryUUID) {
    if (!this.#keys.has(entryUUID))
      return void 0;
    const pending = this.#pending.get(entryUUID);
    if (pending !== void 0)
      return pending.record === null ? void 0 : decodeRecord(pending.record, entryUUID);
    const stored = this.#env.entries.getBinaryFast(entryUUID);
    return stored === void 0 ? void 0 : decodeRecord(stored, entryUUID);
  }
  has(entryUUID) {
    return this.#keys.has(entryUUID);
  }
  entryUUIDs() {
    return this.#keys.values();
  }
  *entries() {
    for (const { key, value } of this.#env.entries.getRange()) {
      if (!this.#pending.has(key))
        yield [key, decodeRecord(value, key)];
    }
    for (const [key, { record }] of this.#pending)
      if (record !== null)
        yield [key, decodeRecord(record, key)];
  }
  /**
   * Writes the batch in one LMDB transaction; resolves once it is committed. Reads see the batch
   * at once. After a failed commit the store refuses further batches: what is on disk is still
   * a consistent earlier state, which the next start resumes from.
   */
  commit(batch) {
    if (this.#closed)
      return Promise.reject(new Error(`Replica store at ${this.path} is closed.`));
    if (this.#failure !== void 0)
      return Promise.reject(this.#failure);
    const writes = [];
    for (const [entryUUID, entry] of batch.mutations) {
      const record = entry === null ? null : batch.records?.get(entryUUID) ?? encodeEntryRecord(entry);
      writes.push([entryUUID, record, record === null ? null : Buffer.from(record, "latin1")]);
    }
    const sequence = ++this.#batches;
    for (const [entryUUID, record] of writes) {
      if (record === null)
        this.#keys.delete(entryUUID);
      else
        this.#keys.add(entryUUID);
      this.#pending.set(entryUUID, { record, batch: sequence });
    }
    this.#cookie = batch.cookie;
    const { root, entries, meta } = this.#env;
    const cookie = batch.cookie;
    const committed = root.transaction(() => {
      for (const [entryUUID, , bytes] of writes) {
        if (bytes === null)
          void entries.remove(entryUUID);
        else
          void entries.put(entryUUID, bytes);
      }
      if (cookie === void 0)
        void meta.remove("cookie");
      else
        void meta.put("cookie", cookie);
    }).then(() => {
      for (const [entryUUID, pending] of this.#pending) {
        if (pending.batch <= sequence)
          this.#pending.delete(entryUUID);
      }
    }, (error) => {
      this.#failure = new Error(`Writing the replica to ${this.path} failed: ${reason(error)}.`, {
        cause: error
      });
      throw this.#failure;
    });
    this.#writing = committed.catch(() => {
    });
    return committed;
  }
  /** Waits for queued batches, then closes the environment and releases the directory. */
  async close() {
    if (this.#closed)
      return;
    this.#closed = true;
    try {
      await this.#writing;
      await this.#env.root.close();
    } finally {
      this.#lock.release();
    }
  }
};
var ENTRIES_OPTIONS = { name: "entries", encoding: "binary" };
var META_OPTIONS = { name: "meta", encoding: "msgpack", useRecords: false };
var lmdbOpen;
function openEnvironment(path) {
  const open = lmdbOpen;
  const root = open({ path, noSubdir: false, maxDbs: 4 });
  return {
    root,
    entries: root.openDB(ENTRIES_OPTIONS),
    meta: root.openDB(META_OPTIONS)
  };
}
function inspect(env, transaction, identity, path) {
  const format = env.meta.get("format", { transaction });
  const storedIdentity = env.meta.get("identity", { transaction });
  if (format === void 0 && storedIdentity === void 0) {
    if (env.entries.getKeysCount({ transaction }) === 0 && env.meta.get("cookie", { transaction }) === void 0) {
      return {
        level: "info",
        message: `Replica store at ${path} created for ${describeIdentity(identity)}.`
      };
    }
    return { level: "warn", message: discarding(path, "it has entries but no format or identity record") };
  }
  if (format !== LMDB_STORE_FORMAT) {
    return {
      level: "warn",
      message: discarding(path, `it has format version ${JSON.stringify(format)}, this version reads ${LMDB_STORE_FORMAT}`)
    };
  }
  if (!isIdentity(storedIdentity))
    return { level: "warn", message: discarding(path, "its identity record is malformed") };
  if (!sameIdentity(storedIdentity, identity)) {
    return {
      level: "warn",
      message: `Replica store at ${path} holds a replica of ${describeIdentity(storedIdentity)}, not of ${describeIdentity(identity)}: starting from an empty replica (a full refresh follows).`
    };
  }
  return void 0;
}
function load(env, transaction) {
  const cookie = env.meta.get("cookie", { transaction });
  if (cookie !== void 0 && typeof cookie !== "string")
    throw new CorruptReplicaError("the stored cookie is not a string");
  const keys = /* @__PURE__ */ new Set();
  for (const { key, value } of env.entries.getRange({ transaction })) {
    if (typeof key !== "string")
      throw new CorruptReplicaError("an entry key is not an entryUUID");
    decodeRecord(value, key);
    keys.add(key);
  }
  return { cookie, keys };
}
function reset(env, identity) {
  env.root.transactionSync(() => {
    env.entries.clearSync();
    env.meta.clearSync();
    void env.meta.put("format", LMDB_STORE_FORMAT);
    void env.meta.put("identity", identity);
  });
}
function checkLmdbFile(file) {
  if (!existsSync(file))
    return void 0;
  const fd = openSync(file, "r");
  try {
    const length = fstatSync(fd).size;
    if (length === 0)
      return void 0;
    const MAGIC = 3203383518;
    const head = Buffer.alloc(256);
    readSync(fd, head, 0, head.length, 0);
    const offset = [16, 24].find((at) => head.readUInt32LE(at) === MAGIC);
    if (offset === void 0)
      return "its data file is not an LMDB file";
    const pageSize = head.readUInt32LE(offset + 24);
    if (pageSize < 512 || pageSize > 65536 || (pageSize & pageSize - 1) !== 0)
      return "its data file has a bad page size";
    if (length < 2 * pageSize)
      return "its data file is cut short";
    const second = Buffer.alloc(256);
    readSync(fd, second, 0, second.length, pageSize);
    if (second.readUInt32LE(offset) !== MAGIC)
      return "its second meta page is damaged";
    const metas = [head, second].map((page) => ({
      lastPage: page.readBigUInt64LE(offset + 120),
      txnId: page.readBigUInt64LE(offset + 128)
    }));
    const newest = metas[0].txnId >= metas[1].txnId ? metas[0] : metas[1];
    if (BigInt(length) < (newest.lastPage + 1n) * BigInt(pageSize))
      return "its data file is cut short";
    return void 0;
  } finally {
    closeSync(fd);
  }
}
var openPaths = /* @__PURE__ */ new Set();
function acquireLock(path) {
  const real = realpathSync(path);
  const busy = (who) => new ReplicaStoreBusyError(`Replica store at ${path} is already open ${who}. A store holds one replica with one writer: close the other one first, or give this replicator its own directory.`);
  if (openPaths.has(real))
    throw busy("in this process");
  const file = join(path, "replica.lock");
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
  } catch (error) {
    if (error.code !== "EEXIST")
      throw error;
    let owner = Number.NaN;
    try {
      owner = Number.parseInt(readFileSync(file, "utf8"), 10);
    } catch {
    }
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner))
      throw busy(`by process ${owner}`);
    writeFileSync(file, String(process.pid));
  }
  openPaths.add(real);
  let held = true;
  return {
    release: () => {
      if (!held)
        return;
      held = false;
      openPaths.delete(real);
      rmSync(file, { force: true });
    }
  };
}
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}
function moveAside(path) {
  for (const name of ["data.mdb", "lock.mdb"]) {
    const file = join(path, name);
    if (!existsSync(file))
      continue;
    if (name === "lock.mdb")
      rmSync(file, { force: true });
    else
      renameSync(file, `${file}.corrupt`);
  }
}
function discarding(path, why) {
  return `Replica store at ${path} cannot be used (${why}): discarding it and starting from an empty replica (a full refresh follows).`;
}
function isIdentity(value) {
  return typeof value === "object" && value !== null && typeof value.url === "string" && typeof value.base === "string";
}
function reason(error) {
  return error instanceof Error ? error.message.replace(/\.$/, "") : String(error);
}

// dist/dn.js
function parseDN(dn) {
  const rdns = [];
  if (dn.trim() === "")
    return rdns;
  let i = 0;
  let rdn = [];
  const fail = (why) => {
    throw new TypeError(`Malformed DN ${JSON.stringify(dn)}: ${why}`);
  };
  while (i <= dn.length) {
    while (dn[i] === " ")
      i++;
    const eq = dn.indexOf("=", i);
    if (eq < 0)
      fail('missing "="');
    const type = dn.slice(i, eq).trim();
    if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)*)$/.test(type))
      fail(`bad attribute type ${JSON.stringify(type)}`);
    i = eq + 1;
    let value = "";
    if (dn[i] === "#") {
      const m = /^#[0-9A-Fa-f]*/.exec(dn.slice(i));
      value = m[0];
      i += value.length;
    } else {
      const bytes = [];
      let trailingSpaces = 0;
      for (; i < dn.length; i++) {
        const c = dn[i];
        if (c === "," || c === "+" || c === ";")
          break;
        if (c === "\\") {
          const next = dn[i + 1];
          if (next === void 0)
            fail("dangling backslash");
          if (/[0-9A-Fa-f]/.test(next) && /[0-9A-Fa-f]/.test(dn[i + 2] ?? "")) {
            bytes.push(parseInt(dn.slice(i + 1, i + 3), 16));
            i += 2;
          } else {
            bytes.push(...Buffer.from(next, "utf8"));
            i += 1;
          }
          trailingSpaces = 0;
          continue;
        }
        trailingSpaces = c === " " ? trailingSpaces + 1 : 0;
        bytes.push(...Buffer.from(c, "utf8"));
      }
      value = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)).toString("utf8");
      value = value.replace(/^ +/, "");
    }
    rdn.push({ type, value });
    const sep = dn[i];
    if (sep === "+") {
      i++;
      continue;
    }
    rdns.push(rdn);
    rdn = [];
    if (sep === void 0)
      break;
    i++;
  }
  return rdns;
}
function escapeDNValue(value) {
  return value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^([ #])/, "\\$1").replace(/ $/, "\\ ").replace(/\0/g, "\\00");
}
export {
  BACKOFF_DEFAULTS,
  BindError,
  ConnectionError,
  CorruptReplicaError,
  FOLD_RENAMES_WITHIN,
  FlowControl,
  InvalidOptionsError,
  LMDB_STORE_FORMAT,
  LdapResultError,
  LmdbStore,
  MalformedBerError,
  MemoryStore,
  ProtocolError,
  RefreshRequiredError,
  ReplicaStoreBusyError,
  SyncNotSupportedError,
  SyncreplError,
  TimeoutError,
  TlsError,
  backoffDelay,
  checkLmdbFile,
  cookieAdvances,
  diffAttributes,
  escapeDNValue,
  fileCookieStore,
  foldRenames,
  getAttribute,
  isEmptyDiff,
  keepEntries,
  keepObjectClasses,
  memoryCookieStore,
  parseCookie,
  parseDN,
  pickAttributes,
  replicate,
  replicateFrom,
  syncrepl,
  unfoldRenames
};
