"""An Android package's minSdk, read from its manifest as the package manager and the build tools read it.

The manifest's `<uses-sdk android:minSdkVersion="N">` is the oldest Android release that installs
the app: its native libraries must load there. Three encodings hold the same tree:
- an .aar keeps the text XML the library was built with (`AndroidManifest.xml`);
- an .apk holds aapt's binary XML (`AndroidManifest.xml`): chunks, a string pool, attributes with
  typed values (frameworks/base/libs/androidfw/include/androidfw/ResourceTypes.h);
- an .aab holds aapt2's protobuf `XmlNode` (`base/manifest/AndroidManifest.xml`; the field numbers
  of aapt2's Resources.proto are below).
Only minSdkVersion is read. A manifest that says none (the platform's default is 1) gives None; one
that cannot be decoded raises ManifestError, and the caller judges at the oldest level it models.
"""

from __future__ import annotations

import re
import struct

from linkgate.core.records import record

# Where each kind of package keeps the manifest that carries minSdk (a bundle: its base module's).
MEMBERS = ("AndroidManifest.xml", "base/manifest/AndroidManifest.xml")
# A real manifest is tens of KiB; a larger one is refused rather than held.
LIMIT = 8 << 20
# android.R.attr.minSdkVersion: binary and protobuf manifests may drop attribute names, never the id.
_MIN_SDK_ID = 0x0101020C
_MIN_SDK = "minSdkVersion"


class ManifestError(Exception):
    """The manifest cannot be decoded."""


@record
class MinSdk:
    """What the manifest says of the oldest release the app installs on."""

    member: str
    level: int | None  # None: the manifest names no minSdk (the platform's default is 1)
    # A preview codename (`VanillaIceCream`) instead of a number: the app installs on previews only.
    codename: str = ""


def min_sdk(member: str, data: bytes) -> MinSdk:
    """The minSdk of the manifest `data`, stored as `member`; ManifestError when it cannot be decoded."""
    if data[:2] == b"\x03\x00":
        value = _binary_min_sdk(data)
    elif data.lstrip()[:1] == b"<" or data[:3] == b"\xef\xbb\xbf":
        value = _text_min_sdk(data)
    elif data[:1] == b"\x0a":  # protobuf field 1 (XmlNode.element), length-delimited
        value = _proto_min_sdk(data)
    else:
        raise ManifestError("neither text XML, binary XML nor a protobuf XmlNode")
    return _parsed(member, value)


def _parsed(member: str, value: str | int | None) -> MinSdk:
    if value is None or isinstance(value, int):
        return MinSdk(member, value)
    text = value.strip()
    if text.isdigit():
        return MinSdk(member, int(text))
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", text):
        return MinSdk(member, None, codename=text)
    raise ManifestError(f"minSdkVersion {text[:40]!r} is neither an API level nor a codename")


# --- text XML (.aar) ---
_USES_SDK = re.compile(rb"<uses-sdk\b([^>]*)>", re.S)
_TEXT_ATTRIBUTE = re.compile(rb"[\w.-]+:minSdkVersion\s*=\s*(\"[^\"]*\"|'[^']*')")


def _text_min_sdk(data: bytes) -> str | None:
    # A regular expression, not an XML parser: the value is all that is needed, and an entity
    # declaration in a hostile manifest then costs nothing.
    element = _USES_SDK.search(data)
    if element is None:
        return None
    attribute = _TEXT_ATTRIBUTE.search(element.group(1))
    return None if attribute is None else attribute.group(1)[1:-1].decode("utf-8", "replace")


# --- aapt's binary XML (.apk) ---
_CHUNK = struct.Struct("<HHI")  # type, header size, size
_POOL = struct.Struct("<IIIII")  # string count, style count, flags, strings start, styles start
# After the node header (which holds the line and comment): ns, name, attribute start/size/count, id/class/style.
_ELEMENT = struct.Struct("<IIHHHHHH")
_ATTRIBUTE = struct.Struct("<IIIHBBI")  # ns, name, raw value, value size, res0, data type, data
_XML, _STRING_POOL, _RESOURCE_MAP, _START_ELEMENT = 0x0003, 0x0001, 0x0180, 0x0102
_UTF8 = 0x100
_TYPE_STRING, _TYPE_INT_DEC, _TYPE_INT_HEX = 0x03, 0x10, 0x11
_NO_INDEX = 0xFFFFFFFF


def _binary_min_sdk(data: bytes) -> str | int | None:
    kind, header, size = _chunk(data, 0)
    if kind != _XML or size > len(data):
        raise ManifestError("binary XML whose first chunk is not the document")
    strings: list[str] = []
    ids: tuple[int, ...] = ()
    offset = header
    while offset < size:
        kind, header, length = _chunk(data, offset)
        body = data[offset : offset + length]
        if kind == _STRING_POOL:
            strings = _string_pool(body, header)
        elif kind == _RESOURCE_MAP:
            ids = struct.unpack_from(f"<{(length - header) // 4}I", body, header)
        elif kind == _START_ELEMENT and _string(strings, _element_name(body, header)) == "uses-sdk":
            return _binary_attribute(body, header, strings, ids)
        offset += length
    return None


def _chunk(data: bytes, offset: int) -> tuple[int, int, int]:
    if offset + _CHUNK.size > len(data):
        raise ManifestError(f"binary XML truncated at offset {offset:#x}")
    kind, header, length = _CHUNK.unpack_from(data, offset)
    if header < _CHUNK.size or length < header or offset + length > len(data):
        raise ManifestError(f"binary XML chunk at offset {offset:#x} has impossible sizes")
    return kind, header, length


def _element_name(body: bytes, header: int) -> int:
    if header + _ELEMENT.size > len(body):
        raise ManifestError("binary XML element truncated")
    return int(_ELEMENT.unpack_from(body, header)[1])


def _binary_attribute(body: bytes, header: int, strings: list[str], ids: tuple[int, ...]) -> str | int | None:
    fields = _ELEMENT.unpack_from(body, header)
    start, step, count = header + fields[2], fields[3], fields[4]
    if step < _ATTRIBUTE.size or start + step * count > len(body):
        raise ManifestError("binary XML attributes run past their element")
    for index in range(count):
        _ns, name, raw, _size, _res0, kind, value = _ATTRIBUTE.unpack_from(body, start + index * step)
        if (ids[name] if name < len(ids) else None) != _MIN_SDK_ID and _string(strings, name) != _MIN_SDK:
            continue
        if kind in (_TYPE_INT_DEC, _TYPE_INT_HEX):
            return int(value)
        if kind == _TYPE_STRING:
            return _string(strings, value if raw == _NO_INDEX else raw)
        raise ManifestError(f"minSdkVersion has value type {kind:#x}, not a number or a string")
    return None


def _string(strings: list[str], index: int) -> str:
    if index == _NO_INDEX:
        return ""
    if index >= len(strings):
        raise ManifestError(f"binary XML names string {index} of a pool of {len(strings)}")
    return strings[index]


def _string_pool(body: bytes, header: int) -> list[str]:
    if _CHUNK.size + _POOL.size > header:
        raise ManifestError("binary XML string pool header truncated")
    count, _styles, flags, start, _style_start = _POOL.unpack_from(body, _CHUNK.size)
    if header + 4 * count > len(body) or start > len(body):
        raise ManifestError("binary XML string pool runs past its chunk")
    offsets = struct.unpack_from(f"<{count}I", body, header)
    decode = _utf8_string if flags & _UTF8 else _utf16_string
    return [decode(body, start + offset) for offset in offsets]


def _utf8_string(body: bytes, offset: int) -> str:
    # Two lengths, each one byte or two (high bit set): characters, then bytes.
    _chars, offset = _length8(body, offset)
    size, offset = _length8(body, offset)
    return _slice(body, offset, size).decode("utf-8", "replace")


def _length8(body: bytes, offset: int) -> tuple[int, int]:
    first = _slice(body, offset, 1)[0]
    if not first & 0x80:
        return first, offset + 1
    return (first & 0x7F) << 8 | _slice(body, offset + 1, 1)[0], offset + 2


def _utf16_string(body: bytes, offset: int) -> str:
    (first,) = struct.unpack("<H", _slice(body, offset, 2))
    if first & 0x8000:
        (second,) = struct.unpack("<H", _slice(body, offset + 2, 2))
        first, offset = (first & 0x7FFF) << 16 | second, offset + 2
    return _slice(body, offset + 2, first * 2).decode("utf-16-le", "replace")


def _slice(body: bytes, offset: int, size: int) -> bytes:
    if offset + size > len(body):
        raise ManifestError("binary XML string runs past its pool")
    return body[offset : offset + size]


# --- aapt2's protobuf XmlNode (.aab) ---
# XmlNode { XmlElement element = 1; string text = 2; }
# XmlElement { namespace_declaration = 1; namespace_uri = 2; string name = 3;
#              repeated XmlAttribute attribute = 4; repeated XmlNode child = 5; }
# XmlAttribute { namespace_uri = 1; string name = 2; string value = 3; source = 4;
#                uint32 resource_id = 5; Item compiled_item = 6; }
# Item { ...; Primitive prim = 7; }  Primitive { ...; int32 int_decimal_value = 6; ... }
_NODE_ELEMENT, _ELEMENT_NAME, _ELEMENT_ATTRIBUTE, _ELEMENT_CHILD = 1, 3, 4, 5
_ATTR_NAME, _ATTR_VALUE, _ATTR_ID, _ATTR_ITEM, _ITEM_PRIM, _PRIM_INT = 2, 3, 5, 6, 7, 6
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
# aapt2 nests elements as deep as the XML; a manifest is a few levels deep.
_DEPTH = 64


def _proto_min_sdk(data: bytes) -> str | int | None:
    return _proto_node(data, 0)


def _proto_node(node: bytes, depth: int) -> str | int | None:
    if depth > _DEPTH:
        raise ManifestError(f"protobuf XML nested deeper than {_DEPTH} elements")
    for number, _kind, value in _fields(node):
        if number == _NODE_ELEMENT and isinstance(value, bytes):
            found = _proto_element(value, depth)
            if found is not None:
                return found
    return None


def _proto_element(element: bytes, depth: int) -> str | int | None:
    fields = list(_fields(element))
    name = next((v for n, _k, v in fields if n == _ELEMENT_NAME and isinstance(v, bytes)), b"")
    if name == b"uses-sdk":
        for number, _kind, value in fields:
            if number == _ELEMENT_ATTRIBUTE and isinstance(value, bytes):
                found = _proto_attribute(value)
                if found is not None:
                    return found
        return None
    for number, _kind, value in fields:
        if number == _ELEMENT_CHILD and isinstance(value, bytes):
            found = _proto_node(value, depth + 1)
            if found is not None:
                return found
    return None


def _proto_attribute(attribute: bytes) -> str | int | None:
    fields = {number: value for number, _kind, value in _fields(attribute)}
    if fields.get(_ATTR_ID) != _MIN_SDK_ID and fields.get(_ATTR_NAME) != _MIN_SDK.encode():
        return None
    value = fields.get(_ATTR_VALUE)
    if isinstance(value, bytes) and value:
        return value.decode("utf-8", "replace")  # aapt2 keeps the source text beside the compiled item
    item = fields.get(_ATTR_ITEM)
    prim = _field(item, _ITEM_PRIM) if isinstance(item, bytes) else None
    number = _field(prim, _PRIM_INT) if isinstance(prim, bytes) else None
    if isinstance(number, int):
        return number - (1 << 64) if number >= 1 << 63 else number
    raise ManifestError("minSdkVersion has neither a text value nor a compiled integer")


def _field(message: bytes, wanted: int) -> bytes | int | None:
    return next((value for number, _kind, value in _fields(message) if number == wanted), None)


def _fields(message: bytes) -> list[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) of a protobuf message: a varint or fixed field as an int,
    a length-delimited one as its bytes."""
    found: list[tuple[int, int, bytes | int]] = []
    offset = 0
    while offset < len(message):
        key, offset = _varint(message, offset)
        number, kind = key >> 3, key & 7
        value: bytes | int
        if kind == _VARINT:
            value, offset = _varint(message, offset)
        elif kind == _BYTES:
            size, offset = _varint(message, offset)
            value, offset = _take(message, offset, size), offset + size
        elif kind in (_FIXED64, _FIXED32):
            size = 8 if kind == _FIXED64 else 4
            value, offset = int.from_bytes(_take(message, offset, size), "little"), offset + size
        else:
            raise ManifestError(f"protobuf field {number} has wire type {kind}, which XmlNode never uses")
        found.append((number, kind, value))
    return found


def _varint(message: bytes, offset: int) -> tuple[int, int]:
    value = shift = 0
    while shift < 70:
        byte = _take(message, offset, 1)[0]
        value |= (byte & 0x7F) << shift
        offset += 1
        if not byte & 0x80:
            return value, offset
        shift += 7
    raise ManifestError("protobuf varint longer than ten bytes")


def _take(message: bytes, offset: int, size: int) -> bytes:
    if offset + size > len(message):
        raise ManifestError("protobuf field runs past its message")
    return message[offset : offset + size]
