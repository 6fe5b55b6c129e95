#!/usr/bin/env python3
"""Generates C++ codecs for Kafka messages from gregor's compact spec files.

Usage: gen_messages.py SPEC OUT_H OUT_CC INCLUDE_PATH
       gen_messages.py --umbrella OUT_H INCLUDE_DIR SPEC...
       gen_messages.py --testfill OUT_H INCLUDE_DIR SPEC...   (test-only fill functions)
       gen_messages.py --api-table OUT_CC SPEC...      (the version table of every API)

Spec format (src/protocol/specs/<Api>.spec), indentation of two spaces per nesting level:

  request ProduceRequest key=0 versions=0-9 flexible=9+
    Acks int16 0+
    TopicData []TopicProduceData 0+
      Name string 0+
    struct SharedStruct 0+            <- a common struct, referenced by type name elsewhere
      Field int32 0+
  response ProduceResponse key=0 versions=0-9 flexible=9+
    ...

The request line may add `served=N-M`, the versions the broker answers (listed by
ApiVersions; an API without it has a codec only), and `handler=group` when its handler takes
the group coordinator. The spec files are the one source of each API's key, versions and
flexible versions: the ApiVersions table is generated here, the dispatcher's handler table by
src/server/gen/gen_handler_table.py from the same specs.

A field line is `Name Type Versions [nullable=V] [tagged=V tag=N] [default=D]` where V is
`N+`, `N-M`, `N` or `none`, Type is a primitive (int8 int16 int32 int64 uint16 float64 bool
string bytes uuid records), a struct name, or `[]` + either. A field with indented children
defines a struct of that name. Default values follow Kafka's conventions (`null`, `-1`, ...).
An int16 field named ErrorCode or ending in ErrorCode is typed gregor::protocol::ErrorCode in
C++ (error_code.h) and cast to and from int16 on the wire.

The generated code has one C++ struct per message, with nested structs named as in the spec,
and Decode/Encode members that take the message version. Flexible versions use compact
encodings and a tagged-field section at the end of every struct.
"""

import os
import re
import shlex
import sys

PRIMITIVES = {
    'int8': 'int8_t', 'int16': 'int16_t', 'int32': 'int32_t', 'int64': 'int64_t',
    'uint16': 'uint16_t', 'float64': 'double', 'bool': 'bool', 'string': 'std::string',
    'bytes': 'std::string', 'uuid': 'std::array<uint8_t, 16>', 'records': 'Records',
}
RW = {'int8': 'Int8', 'int16': 'Int16', 'int32': 'Int32', 'int64': 'Int64', 'uint16': 'UInt16',
      'float64': 'Float64', 'bool': 'Bool', 'uuid': 'Uuid'}
CPP_KEYWORDS = {'default', 'operator', 'new', 'delete', 'class', 'private', 'public', 'type_',
                'template', 'namespace', 'register', 'union', 'int', 'long', 'short', 'char',
                'this', 'throw', 'try', 'catch', 'return', 'switch', 'case', 'break', 'const',
                'static', 'virtual', 'explicit', 'friend', 'using', 'typename', 'auto', 'bool'}


class SpecError(Exception):
    pass


class Versions:
    """A version range; hi None means open-ended. `none` is represented by empty=True."""

    def __init__(self, text):
        self.empty = False
        self.lo, self.hi = 0, None
        if text is None or text == 'none':
            self.empty = True
            return
        m = re.fullmatch(r'(\d+)\+', text)
        if m:
            self.lo = int(m.group(1))
            return
        m = re.fullmatch(r'(\d+)-(\d+)', text)
        if m:
            self.lo, self.hi = int(m.group(1)), int(m.group(2))
            return
        m = re.fullmatch(r'(\d+)', text)
        if m:
            self.lo = self.hi = int(m.group(1))
            return
        raise SpecError('bad version range %r' % text)

    def cond(self, var='version'):
        """A C++ condition for `var` in range, or 'true'."""
        if self.empty:
            return 'false'
        parts = []
        if self.lo > 0:
            parts.append('%s >= %d' % (var, self.lo))
        if self.hi is not None:
            parts.append('%s <= %d' % (var, self.hi))
        return ' && '.join(parts) if parts else 'true'

    def intersects(self, lo, hi):
        if self.empty:
            return False
        return (self.hi is None or self.hi >= lo) and self.lo <= hi


class Field:
    def __init__(self, name, ftype, versions, opts, line_no):
        self.name = name
        self.type = ftype
        self.versions = Versions(versions)
        self.nullable = Versions(opts.get('nullable'))
        self.tagged = Versions(opts.get('tagged'))
        self.tag = int(opts['tag']) if 'tag' in opts else None
        self.default = opts.get('default')
        self.children = []
        self.line_no = line_no
        self.struct = None  # resolved StructDef for struct / []struct types
        if not self.tagged.empty and self.tag is None:
            raise SpecError('line %d: tagged field %s needs tag=' % (line_no, name))

    @property
    def is_array(self):
        return self.type.startswith('[]')

    @property
    def base(self):
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self):
        return self.base not in PRIMITIVES

    @property
    def is_error_code(self):
        """An int16 named ErrorCode or ...ErrorCode: typed ErrorCode in C++, int16 on the wire."""
        return self.base == 'int16' and self.name.endswith('ErrorCode')

    @property
    def member(self):
        s = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', self.name)
        s = re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', s).lower()
        if s in CPP_KEYWORDS:
            s += '_'
        return s


class StructDef:
    def __init__(self, name, fields):
        self.name = name
        self.fields = fields

    def signature(self):
        def sig(fs):
            return tuple((f.name, f.type, f.versions.lo, f.versions.hi, f.versions.empty,
                          f.nullable.lo, f.nullable.hi, f.nullable.empty, f.tagged.lo,
                          f.tagged.hi, f.tagged.empty, f.tag, f.default, sig(f.children))
                         for f in fs)
        return sig(self.fields)


class Message:
    def __init__(self, kind, name, opts):
        self.kind = kind
        self.name = name
        self.api_key = int(opts['key'])
        lo, hi = opts['versions'].split('-')
        self.lo, self.hi = int(lo), int(hi)
        self.flexible = Versions(opts.get('flexible', 'none'))
        self.served = None  # (lo, hi) of the versions the broker answers, or None
        if 'served' in opts:
            slo, shi = opts['served'].split('-')
            self.served = (int(slo), int(shi))
            if self.served[0] < self.lo or self.served[1] > self.hi:
                raise SpecError('%s: served=%s outside versions=%s' % (name, opts['served'],
                                                                       opts['versions']))
        self.handler = opts.get('handler', 'server')
        if self.handler not in ('server', 'group'):
            raise SpecError('%s: handler=%s is neither server nor group' % (name, self.handler))
        self.fields = []
        self.common = []  # StructDef with raw fields (resolved later)
        self.structs = []  # ordered StructDef list, dependencies first
        self.by_name = {}


def parse(path):
    messages = []
    stack = []  # (indent, children list)
    msg = None
    with open(path) as f:
        for line_no, raw in enumerate(f, 1):
            line = raw.rstrip('\n')
            if not line.strip() or line.lstrip().startswith('#'):
                continue
            indent = len(line) - len(line.lstrip(' '))
            words = shlex.split(line.strip())
            if indent == 0:
                if words[0] not in ('request', 'response'):
                    raise SpecError('line %d: expected request/response' % line_no)
                opts = dict(w.split('=', 1) for w in words[2:])
                msg = Message(words[0], words[1], opts)
                messages.append(msg)
                stack = [(0, msg.fields)]
                continue
            if msg is None:
                raise SpecError('line %d: field outside a message' % line_no)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            if not stack:
                raise SpecError('line %d: bad indentation' % line_no)
            if words[0] == 'struct':
                if indent != 2:
                    raise SpecError('line %d: struct must be at top level' % line_no)
                sd = StructDef(words[1], [])
                msg.common.append(sd)
                stack.append((indent, sd.fields))
                continue
            if len(words) < 3:
                raise SpecError('line %d: field needs name, type, versions' % line_no)
            opts = {}
            for w in words[3:]:
                if '=' not in w:
                    raise SpecError('line %d: bad option %r' % (line_no, w))
                k, v = w.split('=', 1)
                opts[k] = v
            fld = Field(words[0], words[1], words[2], opts, line_no)
            stack[-1][1].append(fld)
            stack.append((indent, fld.children))
    return messages


def resolve(msg):
    common = {sd.name: sd for sd in msg.common}
    placed = {}

    def place(sd):
        prev = placed.get(sd.name)
        if prev is not None:
            if prev.signature() == sd.signature():
                return prev
            raise SpecError('%s: struct %s defined twice differently' % (msg.name, sd.name))
        for f in sd.fields:
            visit(f)
        placed[sd.name] = sd
        msg.structs.append(sd)
        return sd

    def visit(f):
        if not f.is_struct:
            if f.children:
                raise SpecError('line %d: primitive %s has children' % (f.line_no, f.name))
            return
        if f.children:
            f.struct = place(StructDef(f.base, f.children))
        elif f.base in common:
            f.struct = place(common[f.base])
        elif f.base in placed:
            f.struct = placed[f.base]
        else:
            raise SpecError('line %d: unknown struct %s' % (f.line_no, f.base))

    for f in msg.fields:
        visit(f)


def struct_comparable(sd):
    """Structs without a records field get a defaulted operator== (Records is a view)."""
    for f in sd.fields:
        if f.base == 'records':
            return False
        if f.is_struct and not struct_comparable(f.struct):
            return False
    return True


def cpp_elem_type(f):
    if f.is_struct:
        return f.struct.name
    if f.is_error_code:
        return 'ErrorCode'
    return PRIMITIVES[f.base]


def cpp_type(f):
    if f.is_array:
        t = 'std::vector<%s>' % cpp_elem_type(f)
        return 'std::optional<%s>' % t if not f.nullable.empty else t
    if f.base in ('string', 'bytes') and not f.nullable.empty:
        return 'std::optional<std::string>'
    if f.is_struct and not f.nullable.empty:
        return 'std::optional<%s>' % f.struct.name
    return cpp_elem_type(f)


def cpp_string_literal(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def default_init(f):
    d = f.default
    if f.is_array:
        if not f.nullable.empty:
            if d == 'null':
                return ' = std::nullopt'
            return ' = std::vector<%s>{}' % cpp_elem_type(f)
        return ''
    if f.is_struct or f.base in ('records', 'uuid'):
        return '{}'
    if f.base in ('string', 'bytes'):
        if not f.nullable.empty:
            if d == 'null':
                return ' = std::nullopt'
            return ' = std::string(%s)' % cpp_string_literal(d or '')
        return ' = %s' % cpp_string_literal(d) if d else ''
    if f.base == 'bool':
        return ' = %s' % ('true' if d == 'true' else 'false')
    if f.base == 'float64':
        return ' = %s' % (d if d else '0.0')
    if f.is_error_code:
        if d in (None, '0'):
            return ' = ErrorCode::kNone'
        return ' = static_cast<ErrorCode>(%s)' % d
    return ' = %s' % (d if d else '0')


def non_default_expr(f, x):
    """C++ expression: true when tagged field x differs from its default (Kafka writes it then)."""
    d = f.default
    if f.is_array:
        if not f.nullable.empty:
            return '%s.has_value()' % x if d == 'null' else '(!%s || !%s->empty())' % (x, x)
        return '!%s.empty()' % x
    if f.is_struct and not f.nullable.empty:
        return '%s.has_value()' % x
    if f.is_struct:
        if struct_comparable(f.struct):
            return '!(%s == %s{})' % (x, f.struct.name)
        return '!EncodesAsDefault(%s, version)' % x
    if f.base == 'records':
        return '(%s.size() > 0)' % x
    if f.base == 'uuid':
        return '(%s != std::array<uint8_t, 16>{})' % x
    if f.base in ('string', 'bytes'):
        lit = cpp_string_literal(d or '')
        if not f.nullable.empty:
            if d == 'null':
                return '%s.has_value()' % x
            return '(!%s || *%s != %s)' % (x, x, lit)
        return '(%s != %s)' % (x, lit)
    return '(%s != %s)' % (x, default_init(f)[3:])


class Emitter:
    def __init__(self):
        self.lines = []
        self.ind = 0

    def __call__(self, s=''):
        self.lines.append(('  ' * self.ind + s) if s else '')


def emit_decode_value(e, f, x, r):
    """Statements decoding one value of field f into lvalue x with reader r."""
    nullable = f.nullable.cond()
    if f.is_array:
        e('{')
        e.ind += 1
        e('int32_t n_ = %s.ArrayLength(flex);' % r)
        e('if (n_ < 0) {')
        if not f.nullable.empty:
            e('  if (%s) {' % nullable)
            e('    %s = std::nullopt;' % x)
            e('  } else {')
            e('    %s.Fail();' % r)
            e('  }')
        else:
            e('  %s.Fail();' % r)
        e('} else {')
        e.ind += 1
        if not f.nullable.empty:
            e('auto& v_ = %s.emplace();' % x)
        else:
            e('auto& v_ = %s;' % x)
            e('v_.clear();')
        e('for (int32_t i_ = 0; i_ < n_ && %s.ok(); ++i_) {' % r)
        e.ind += 1
        if f.is_struct:
            e('v_.emplace_back();')
            e('if (!v_.back().Decode(%s, version)) break;' % r)
        else:
            e('v_.push_back(%s);' % read_scalar_expr(f.base, r, f.is_error_code))
        e.ind -= 1
        e('}')
        e.ind -= 1
        e('}')
        e.ind -= 1
        e('}')
        return
    if f.is_struct and not f.nullable.empty:
        # Kafka's nullable struct: an int8 marker, -1 for null, then the struct.
        e('if (!(%s) || %s.Int8() >= 0) {' % (nullable, r))
        e('  %s.emplace().Decode(%s, version);' % (x, r))
        e('} else {')
        e('  %s = std::nullopt;' % x)
        e('}')
    elif f.is_struct:
        # A failure leaves the (sticky) reader failed; the caller checks it.
        e('%s.Decode(%s, version);' % (x, r))
    elif f.base == 'records':
        nb = 'false' if f.nullable.empty else '(%s)' % nullable
        e('DecodeRecords(%s, &%s, flex, %s);' % (r, x, nb))
    elif f.base == 'string':
        if not f.nullable.empty:
            e('if (%s) {' % nullable)
            e('  %s = %s.NullableString(flex);' % (x, r))
            e('} else {')
            e('  %s = %s.String(flex);' % (x, r))
            e('}')
        else:
            e('%s = %s.String(flex);' % (x, r))
    elif f.base == 'bytes':
        if not f.nullable.empty:
            e('if (%s) {' % nullable)
            e('  auto b_ = %s.NullableBytesView(flex);' % r)
            e('  if (b_) {')
            e('    %s = std::string(*b_);' % x)
            e('  } else {')
            e('    %s = std::nullopt;' % x)
            e('  }')
            e('} else {')
            e('  %s = std::string(%s.BytesView(flex));' % (x, r))
            e('}')
        else:
            e('%s = std::string(%s.BytesView(flex));' % (x, r))
    else:
        e('%s = %s;' % (x, read_scalar_expr(f.base, r, f.is_error_code)))


def read_scalar_expr(base, r, error_code=False):
    if base == 'string':
        return '%s.String(flex)' % r
    if base == 'bytes':
        return 'std::string(%s.BytesView(flex))' % r
    if base == 'records':
        raise SpecError('arrays of records are not supported')
    if error_code:
        return 'static_cast<ErrorCode>(%s.%s())' % (r, RW[base])
    return '%s.%s()' % (r, RW[base])


def write_scalar_stmt(base, v, w, error_code=False):
    if base == 'string':
        return '%s.String(%s, flex);' % (w, v)
    if base == 'bytes':
        return '%s.Bytes(%s, flex);' % (w, v)
    if error_code:
        v = 'static_cast<int16_t>(%s)' % v
    return '%s.%s(%s);' % (w, RW[base], v)


def emit_encode_value(e, f, x, w):
    nullable = f.nullable.cond()
    if f.is_array:
        if not f.nullable.empty:
            e('if (!%s) {' % x)
            e('  %s.ArrayLength((%s) ? -1 : 0, flex);' % (w, nullable))
            e('} else {')
            e.ind += 1
            src = '*' + x
        else:
            src = x
        e('%s.ArrayLength(static_cast<int32_t>(%s.size()), flex);' % (w, '(' + src + ')'))
        e('for (const auto& elem_ : %s) {' % src)
        if f.is_struct:
            e('  elem_.Encode(%s, version);' % w)
        else:
            e('  ' + write_scalar_stmt(f.base, 'elem_', w, f.is_error_code))
        e('}')
        if not f.nullable.empty:
            e.ind -= 1
            e('}')
        return
    if f.is_struct and not f.nullable.empty:
        e('if (%s) {' % nullable)
        e('  %s.Int8(%s ? 1 : -1);' % (w, x))
        e('}')
        e('if (%s) {' % x)
        e('  %s->Encode(%s, version);' % (x, w))
        e('} else if (!(%s)) {' % nullable)
        e('  %s{}.Encode(%s, version);' % (f.struct.name, w))
        e('}')
    elif f.is_struct:
        e('%s.Encode(%s, version);' % (x, w))
    elif f.base == 'records':
        nb = 'false' if f.nullable.empty else '(%s)' % nullable
        e('EncodeRecords(%s, %s, flex, %s);' % (w, x, nb))
    elif f.base in ('string', 'bytes') and not f.nullable.empty:
        if f.base == 'string':
            e('if (%s) {' % nullable)
            e('  %s.NullableString(%s, flex);' % (w, x))
            e('} else {')
            e('  %s.String(%s ? std::string_view(*%s) : std::string_view(), flex);' % (w, x, x))
            e('}')
        else:
            e('if (%s) {' % nullable)
            e('  %s.NullableBytes(%s ? std::optional<std::string_view>(*%s) : std::nullopt, flex);'
              % (w, x, x))
            e('} else {')
            e('  %s.Bytes(%s ? std::string_view(*%s) : std::string_view(), flex);' % (w, x, x))
            e('}')
    else:
        e(write_scalar_stmt(f.base, x, w, f.is_error_code))


def regular_cond(f):
    """Condition under which f is a regular (non-tagged) field in `version`."""
    c = f.versions.cond()
    if not f.tagged.empty:
        t = f.tagged.cond()
        c = '(%s) && !(flex && (%s))' % (c, t)
    return c


def tagged_fields(sd):
    return sorted([f for f in sd.fields if not f.tagged.empty], key=lambda f: f.tag)


def emit_struct_body_decode(e, msg, sd):
    for f in sd.fields:
        if f.versions.empty or not f.versions.intersects(msg.lo, msg.hi):
            continue
        if not f.tagged.empty and f.tagged.lo <= f.versions.lo and f.tagged.hi is None and \
                f.versions.hi is None and not msg.flexible.empty and \
                f.tagged.lo >= msg.flexible.lo:
            continue  # purely tagged
        cond = regular_cond(f)
        if cond == 'true':
            emit_decode_value(e, f, f.member, 'r')
        else:
            e('if (%s) {' % cond)
            e.ind += 1
            emit_decode_value(e, f, f.member, 'r')
            e.ind -= 1
            e('}')
    if msg.flexible.empty:
        return
    tagged = tagged_fields(sd)
    e('if (flex) {')
    e.ind += 1
    if not tagged:
        e('r.SkipTaggedFields();')
    else:
        e('uint32_t num_tagged_ = r.UnsignedVarInt();')
        e('for (uint32_t t_ = 0; t_ < num_tagged_ && r.ok(); ++t_) {')
        e.ind += 1
        e('uint32_t tag_ = r.UnsignedVarInt();')
        e('std::string_view data_ = r.Raw(r.UnsignedVarInt());')
        e('if (!r.ok()) break;')
        e('Reader tr_(data_);')
        e('switch (tag_) {')
        for f in tagged:
            e('  case %d:' % f.tag)
            e('    if (%s) {' % f.tagged.cond())
            e.ind += 3
            emit_decode_value(e, f, f.member, 'tr_')
            e.ind -= 3
            e('    }')
            e('    break;')
        e('  default:')
        e('    break;  // unknown tags are skipped, as KIP-482 requires')
        e('}')
        e('if (!tr_.ok()) r.Fail();')
        e.ind -= 1
        e('}')
    e.ind -= 1
    e('}')


def emit_struct_body_encode(e, msg, sd):
    for f in sd.fields:
        if f.versions.empty or not f.versions.intersects(msg.lo, msg.hi):
            continue
        if not f.tagged.empty and f.tagged.lo <= f.versions.lo and f.tagged.hi is None and \
                f.versions.hi is None and not msg.flexible.empty and \
                f.tagged.lo >= msg.flexible.lo:
            continue
        cond = regular_cond(f)
        if cond == 'true':
            emit_encode_value(e, f, f.member, 'w')
        else:
            e('if (%s) {' % cond)
            e.ind += 1
            emit_encode_value(e, f, f.member, 'w')
            e.ind -= 1
            e('}')
    if msg.flexible.empty:
        return
    tagged = tagged_fields(sd)
    e('if (flex) {')
    e.ind += 1
    if not tagged:
        e('w.EmptyTaggedFields();')
    else:
        for f in tagged:
            e('const bool write_%s = (%s) && (%s) && %s;' % (
                f.member, f.versions.cond(), f.tagged.cond(), non_default_expr(f, f.member)))
        e('uint32_t num_tagged_ = 0;')
        for f in tagged:
            e('if (write_%s) ++num_tagged_;' % f.member)
        e('w.UnsignedVarInt(num_tagged_);')
        for f in tagged:
            e('if (write_%s) {' % f.member)
            e.ind += 1
            e('Writer tw_;')
            emit_encode_value(e, f, f.member, 'tw_')
            e('w.UnsignedVarInt(%d);' % f.tag)
            e('w.UnsignedVarInt(static_cast<uint32_t>(tw_.size()));')
            e('w.Append(std::move(tw_));')
            e.ind -= 1
            e('}')
    e.ind -= 1
    e('}')


def flex_expr(msg):
    if msg.flexible.empty:
        return 'false'
    return 'version >= %d' % msg.flexible.lo


def gen_header_struct(e, msg):
    e('struct %s {' % msg.name)
    e.ind += 1
    e('static constexpr int16_t kApiKey = %d;' % msg.api_key)
    e('static constexpr int16_t kMinVersion = %d;' % msg.lo)
    e('static constexpr int16_t kMaxVersion = %d;' % msg.hi)
    e('static constexpr int16_t kFlexibleMin = %d;' % (
        -1 if msg.flexible.empty else msg.flexible.lo))
    e()
    for sd in msg.structs:
        e('struct %s {' % sd.name)
        e.ind += 1
        for f in sd.fields:
            e('%s %s%s;' % (cpp_type(f), f.member, default_init(f)))
        e()
        e('bool Decode(Reader& r, int16_t version);')
        e('void Encode(Writer& w, int16_t version) const;')
        if struct_comparable(sd):
            e('bool operator==(const %s&) const = default;' % sd.name)
        e.ind -= 1
        e('};')
        e()
    for f in msg.fields:
        e('%s %s%s;' % (cpp_type(f), f.member, default_init(f)))
    e()
    e('// False when the input is malformed or truncated (r.ok() is then false).')
    e('bool Decode(Reader& r, int16_t version);')
    e('void Encode(Writer& w, int16_t version) const;')
    if struct_comparable(StructDef(msg.name, msg.fields)):
        e('bool operator==(const %s&) const = default;' % msg.name)
    e.ind -= 1
    e('};')
    e()


def gen_cc_struct(e, msg, qual, sd):
    e('bool %s::Decode(Reader& r, [[maybe_unused]] int16_t version) {' % qual)
    e.ind += 1
    e('[[maybe_unused]] const bool flex = %s;' % flex_expr(msg))
    emit_struct_body_decode(e, msg, sd)
    e('return r.ok();')
    e.ind -= 1
    e('}')
    e()
    e('void %s::Encode(Writer& w, [[maybe_unused]] int16_t version) const {' % qual)
    e.ind += 1
    e('[[maybe_unused]] const bool flex = %s;' % flex_expr(msg))
    emit_struct_body_encode(e, msg, sd)
    e.ind -= 1
    e('}')
    e()


def generate(spec_path, out_h, out_cc, include_path):
    messages = parse(spec_path)
    for m in messages:
        resolve(m)
    spec_name = os.path.basename(spec_path)
    h = Emitter()
    h('#pragma once')
    h('// Generated by src/protocol/gen/gen_messages.py from src/protocol/specs/%s.' % spec_name)
    h('// Do not edit; change the spec instead.')
    h()
    for inc in ('array', 'cstdint', 'optional', 'string', 'string_view', 'vector'):
        h('#include <%s>' % inc)
    h()
    h('#include "gregor/protocol/error_code.h"')
    h('#include "gregor/protocol/reader.h"')
    h('#include "gregor/protocol/records.h"')
    h('#include "gregor/protocol/writer.h"')
    h()
    h('namespace gregor::protocol {')
    h()
    for m in messages:
        gen_header_struct(h, m)
    h('}  // namespace gregor::protocol')

    c = Emitter()
    c('// Generated by src/protocol/gen/gen_messages.py from src/protocol/specs/%s.' % spec_name)
    c('// Do not edit; change the spec instead.')
    c()
    c('#include "%s"' % include_path)
    c()
    c('#include <utility>')
    c()
    c('#include "gregor/protocol/message_util.h"')
    c()
    c('namespace gregor::protocol {')
    c()
    for m in messages:
        for sd in m.structs:
            gen_cc_struct(c, m, '%s::%s' % (m.name, sd.name), sd)
        gen_cc_struct(c, m, m.name, StructDef(m.name, m.fields))
    c('}  // namespace gregor::protocol')
    write_if_changed(out_h, '\n'.join(h.lines) + '\n')
    write_if_changed(out_cc, '\n'.join(c.lines) + '\n')


def write_if_changed(path, text):
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    try:
        with open(path) as f:
            if f.read() == text:
                # Touch so make sees the target as up to date.
                os.utime(path, None)
                return
    except OSError:
        pass
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def snake(name):
    s = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', name)
    return re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', s).lower()


def umbrella(out_h, include_dir, specs):
    lines = ['#pragma once', '// Generated by src/protocol/gen/gen_messages.py: every message codec.', '']
    for s in sorted(specs):
        base = os.path.splitext(os.path.basename(s))[0]
        lines.append('#include "%s/%s.h"' % (include_dir, snake(base)))
    write_if_changed(out_h, '\n'.join(lines) + '\n')


def fill_value(e, f, x, qual):
    """Test-only: statements giving field f (lvalue x) a pseudo-random, mostly non-default value."""
    nullable = f.nullable.cond()
    if f.is_array:
        e('{')
        e.ind += 1
        if not f.nullable.empty:
            e('if ((%s) && rng.Next() %% 4 == 0) {' % nullable)
            e('  %s = std::nullopt;' % x)
            e('} else {')
            e.ind += 1
            e('auto& v_ = %s.emplace();' % x)
        else:
            e('auto& v_ = %s;' % x)
        e('v_.clear();')
        e('const uint32_t n_ = 1 + rng.Next() % 2;')
        e('for (uint32_t i_ = 0; i_ < n_; ++i_) {')
        e.ind += 1
        if f.is_struct:
            e('v_.emplace_back();')
            e('FillForTest(v_.back(), version, rng);')
        else:
            e('v_.push_back(%s);' % fill_scalar_expr(f))
        e.ind -= 1
        e('}')
        if not f.nullable.empty:
            e.ind -= 1
            e('}')
        e.ind -= 1
        e('}')
        return
    if f.is_struct and not f.nullable.empty:
        e('if ((%s) && rng.Next() %% 4 == 0) {' % nullable)
        e('  %s = std::nullopt;' % x)
        e('} else {')
        e('  FillForTest(%s.emplace(), version, rng);' % x)
        e('}')
    elif f.is_struct:
        e('FillForTest(%s, version, rng);' % x)
    elif f.base == 'records':
        e('%s.is_null = (%s) && rng.Next() %% 4 == 0;' % (x, 'false' if f.nullable.empty else nullable))
        e('%s.bytes = %s.is_null ? std::string_view() : rng.Bytes();' % (x, x))
    elif f.base in ('string', 'bytes') and not f.nullable.empty:
        e('if ((%s) && rng.Next() %% 4 == 0) {' % nullable)
        e('  %s = std::nullopt;' % x)
        e('} else {')
        e('  %s = rng.String();' % x)
        e('}')
    else:
        e('%s = %s;' % (x, fill_scalar_expr(f)))


def fill_scalar_expr(f):
    if f.is_error_code:
        return 'static_cast<ErrorCode>(static_cast<int16_t>(rng.Next()))'
    return {
        'int8': 'static_cast<int8_t>(rng.Next())', 'int16': 'static_cast<int16_t>(rng.Next())',
        'int32': 'static_cast<int32_t>(rng.Next())',
        'int64': 'static_cast<int64_t>((uint64_t{rng.Next()} << 32) | rng.Next())',
        'uint16': 'static_cast<uint16_t>(rng.Next())', 'float64': '(rng.Next() / 7.0)',
        'bool': '(rng.Next() % 2 == 0)', 'string': 'rng.String()', 'bytes': 'rng.String()',
        'uuid': 'rng.Uuid()',
    }[f.base]


def gen_fill_struct(e, msg, qual, sd):
    e('inline void FillForTest(%s& m, [[maybe_unused]] int16_t version, '
      '[[maybe_unused]] TestRng& rng) {' % qual)
    e.ind += 1
    e('[[maybe_unused]] const bool flex = %s;' % flex_expr(msg))
    for f in sd.fields:
        if f.versions.empty or not f.versions.intersects(msg.lo, msg.hi):
            continue
        cond = f.versions.cond()
        if not f.tagged.empty:
            # Present either as a regular field or, in flexible versions, as a tagged one.
            cond = '(%s) && (!(%s) || flex)' % (cond, f.tagged.cond())
        e('if (%s) {' % cond)
        e.ind += 1
        fill_value(e, f, 'm.' + f.member, qual)
        e.ind -= 1
        e('}')
    e.ind -= 1
    e('}')
    e()


def testfill(out_h, include_dir, specs):
    e = Emitter()
    e('#pragma once')
    e('// Generated by src/protocol/gen/gen_messages.py --testfill: pseudo-random message')
    e('// contents for round-trip tests. Test-only; not part of libgregor_protocol.')
    e()
    e('#include <cstdint>')
    e('#include <deque>')
    e('#include <string>')
    e('#include <string_view>')
    e()
    for sp in sorted(specs):
        base = os.path.splitext(os.path.basename(sp))[0]
        e('#include "%s/%s.h"' % (include_dir, snake(base)))
    e()
    e('namespace gregor::protocol {')
    e()
    e('// Deterministic xorshift generator; keeps the strings it hands out alive for views.')
    e('class TestRng {')
    e(' public:')
    e('  explicit TestRng(uint32_t seed) : state_(seed | 1) {}')
    e('  uint32_t Next() {')
    e('    state_ ^= state_ << 13;')
    e('    state_ ^= state_ >> 17;')
    e('    state_ ^= state_ << 5;')
    e('    return state_;')
    e('  }')
    e('  std::string String() { return "s" + std::to_string(Next() % 100000); }')
    e('  std::string_view Bytes() {')
    e('    storage_.push_back(std::string(1 + Next() % 40, static_cast<char>(Next())));')
    e('    return storage_.back();')
    e('  }')
    e('  std::array<uint8_t, 16> Uuid() {')
    e('    std::array<uint8_t, 16> u{};')
    e('    for (auto& b : u) b = static_cast<uint8_t>(Next());')
    e('    return u;')
    e('  }')
    e()
    e(' private:')
    e('  uint32_t state_;')
    e('  std::deque<std::string> storage_;')
    e('};')
    e()
    names = []
    for sp in sorted(specs):
        for m in parse(sp):
            resolve(m)
            for sd in m.structs:
                gen_fill_struct(e, m, '%s::%s' % (m.name, sd.name), sd)
            gen_fill_struct(e, m, m.name, StructDef(m.name, m.fields))
            names.append(m.name)
    e('// Calls f.template operator()<Message>("Message") for every generated message type.')
    e('template <typename F>')
    e('void ForEachMessageType(F&& f) {')
    for n in names:
        e('  f.template operator()<%s>("%s");' % (n, n))
    e('}')
    e()
    e('}  // namespace gregor::protocol')
    write_if_changed(out_h, '\n'.join(e.lines) + '\n')


def request_messages(specs):
    """The request message of every spec, ordered by API key."""
    reqs = []
    for path in specs:
        for m in parse(path):
            if m.kind == 'request':
                reqs.append(m)
    reqs.sort(key=lambda m: m.api_key)
    keys = [m.api_key for m in reqs]
    if len(set(keys)) != len(keys):
        raise SpecError('two specs share an API key: %s' % keys)
    return reqs


def api_name(m):
    return m.name[:-len('Request')] if m.name.endswith('Request') else m.name


def api_table(out_cc, specs):
    lines = ['// Generated by src/protocol/gen/gen_messages.py from src/protocol/specs: the version',
             '// range of every API with a codec; served ones are what ApiVersions lists.',
             '#include "gregor/protocol/api_key.h"', '', 'namespace gregor::protocol {', '']
    for m in request_messages(specs):
        lines.append('static_assert(static_cast<int16_t>(ApiKey::k%s) == %d, "ApiKey::k%s disagrees '
                     'with its spec");' % (api_name(m), m.api_key, api_name(m)))
    lines += ['', 'const std::vector<ApiVersionRange>& GeneratedApiTable() {',
              '  static const std::vector<ApiVersionRange> table = {']
    for m in request_messages(specs):
        lo, hi = m.served if m.served else (m.lo, m.hi)
        flex = -1 if m.flexible.empty else m.flexible.lo
        lines.append('      {ApiKey::k%s, %d, %d, %d, %s},' % (api_name(m), lo, hi, flex,
                                                             'true' if m.served else 'false'))
    lines += ['  };', '  return table;', '}', '']
    # KIP-219: from which version the response body starts with ThrottleTimeMs (so that the
    # server can set it after the handler has written the response).
    responses = {}
    for path in specs:
        for m in parse(path):
            if m.kind == 'response':
                responses[m.api_key] = m
    lines += ['int16_t ThrottleTimeFirstSince(ApiKey key) {', '  switch (key) {']
    for m in request_messages(specs):
        r = responses.get(m.api_key)
        since = -1
        if r is not None:
            for v in range(r.hi, r.lo - 1, -1):
                first = next((f for f in r.fields
                              if f.versions.intersects(v, v) and
                              not (f.tagged and f.tagged.intersects(v, v))), None)
                if first is None or first.name != 'ThrottleTimeMs':
                    break
                since = v
        lines.append('    case ApiKey::k%s:' % api_name(m))
        lines.append('      return %d;' % since)
    lines += ['    default:', '      return -1;', '  }', '}', '', '}  // namespace gregor::protocol']
    write_if_changed(out_cc, '\n'.join(lines) + '\n')


def main(argv):
    try:
        if len(argv) >= 2 and argv[1] == '--umbrella':
            umbrella(argv[2], argv[3], argv[4:])
        elif len(argv) >= 2 and argv[1] == '--testfill':
            testfill(argv[2], argv[3], argv[4:])
        elif len(argv) >= 2 and argv[1] == '--api-table':
            api_table(argv[2], argv[3:])
        elif len(argv) == 5:
            generate(argv[1], argv[2], argv[3], argv[4])
        else:
            sys.stderr.write(__doc__)
            return 2
    except SpecError as err:
        sys.stderr.write('%s: %s\n' % (argv[1] if len(argv) > 1 else '?', err))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
