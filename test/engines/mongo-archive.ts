/**
 * Builds small mongodump archives for tests that cannot run the real mongodump: the magic
 * number, a header document, one metadata document per collection, the terminator, then any
 * bytes standing in for the collection data (mongo-tools archive format specification).
 */

type Value = string | number;

/** A BSON document of string and int32 fields. */
export function bsonDocument(fields: Record<string, Value>): Buffer {
  const elements = Object.entries(fields).map(([name, value]) => {
    const key = Buffer.from(`${name}\0`);
    if (typeof value === 'number') {
      const v = Buffer.alloc(4);
      v.writeInt32LE(value);
      return Buffer.concat([Buffer.from([0x10]), key, v]);
    }
    const s = Buffer.from(`${value}\0`);
    const len = Buffer.alloc(4);
    len.writeInt32LE(s.length);
    return Buffer.concat([Buffer.from([0x02]), key, len, s]);
  });
  const body = Buffer.concat([...elements, Buffer.from([0])]);
  const len = Buffer.alloc(4);
  len.writeInt32LE(body.length + 4);
  return Buffer.concat([len, body]);
}

export function mongoArchive(
  namespaces: readonly [string, string][],
  data: Buffer = Buffer.alloc(0),
): Buffer {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(0x8199e26d);
  const header = bsonDocument({
    concurrent_collections: 1,
    version: '0.1',
    server_version: '7.0.14',
    tool_version: '100.10.0',
  });
  const metadata = namespaces.map(([db, collection]) =>
    bsonDocument({
      db,
      collection,
      metadata: '{"indexes":[{"v":2,"key":{"_id":1},"name":"_id_"}]}',
      size: 0,
    }),
  );
  return Buffer.concat([magic, header, ...metadata, Buffer.from([0xff, 0xff, 0xff, 0xff]), data]);
}
