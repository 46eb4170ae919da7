using System.Buffers.Binary;
using System.Text;

namespace Qianbao.Server.Storage;

/// <summary>
/// Rows of PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format") encoded
/// straight into a buffer for a raw binary COPY stream: the set-based campaign send writes 50,000 inbox rows a batch, and
/// Npgsql's importer, which resolves and binds a parameter per value, cost the sender several µs a row; the ledger batch's new
/// transfers go the same way. Fields are written as
/// PostgreSQL's binary send functions do (network byte order; uuid as its 16 bytes; text as UTF-8). Bytes that are the same
/// on every row (a variant's texts, the campaign's constants) are encoded once and copied (<see cref="Constant"/>).
/// </summary>
internal sealed class BinaryCopyRows
{
    private byte[] buffer;
    private int length;

    /// <param name="capacityBytes">The buffer's first size (it grows when a row does not fit).</param>
    public BinaryCopyRows(int capacityBytes = 1 << 16)
    {
        buffer = new byte[capacityBytes];
        // Signature, flags (no OIDs), header extension length 0.
        Bytes("PGCOPY\n"u8);
        Bytes([0xff, (byte)'\r', (byte)'\n', 0]);
        Int32(0);
        Int32(0);
    }

    /// <summary>Bytes ready to be sent; <see cref="Clear"/> after sending them.</summary>
    public ReadOnlyMemory<byte> Pending => buffer.AsMemory(0, length);

    public void Clear() => length = 0;

    /// <summary>Pending bytes at which <see cref="SendIfFullAsync"/> sends them: bounds the buffer of a large COPY.</summary>
    public const int ChunkBytes = 1 << 16;

    /// <summary>Writes the pending bytes to the COPY <paramref name="stream"/> and starts the buffer over.</summary>
    public async ValueTask SendAsync(Stream stream, CancellationToken ct)
    {
        await stream.WriteAsync(Pending, ct);
        Clear();
    }

    /// <summary><see cref="SendAsync"/> once at least <see cref="ChunkBytes"/> are pending (call after each row).</summary>
    public ValueTask SendIfFullAsync(Stream stream, CancellationToken ct) => length >= ChunkBytes ? SendAsync(stream, ct) : ValueTask.CompletedTask;

    /// <summary>Starts a row of <paramref name="fields"/> fields.</summary>
    public void Row(short fields) => Int16(fields);

    public void Uuid(Guid value)
    {
        Int32(16);
        value.TryWriteBytes(Space(16), bigEndian: true, out _);
        length += 16;
    }

    /// <summary>A uuid, or NULL.</summary>
    public void Uuid(Guid? value)
    {
        if (value is { } v) Uuid(v);
        else Null();
    }

    public void Int64(long value)
    {
        Int32(8);
        BinaryPrimitives.WriteInt64BigEndian(Space(8), value);
        length += 8;
    }

    /// <summary>A NULL field, of any type.</summary>
    public void Null() => Int32(-1);

    public void Int4(int value)
    {
        Int32(4);
        Int32(value);
    }

    public void Short(short value)
    {
        Int32(2);
        BinaryPrimitives.WriteInt16BigEndian(Space(2), value);
        length += 2;
    }

    public void Text(string? value)
    {
        if (value is null)
        {
            Int32(-1);
            return;
        }
        var bytes = Encoding.UTF8.GetByteCount(value);
        Int32(bytes);
        Encoding.UTF8.GetBytes(value, Space(bytes));
        length += bytes;
    }

    /// <summary>Already encoded fields (from another instance's <see cref="Pending"/> after <see cref="Clear"/>).</summary>
    public void Bytes(ReadOnlySpan<byte> encoded)
    {
        encoded.CopyTo(Space(encoded.Length));
        length += encoded.Length;
    }

    /// <summary>Fields encoded once, to be copied into every row with <see cref="Bytes"/>.</summary>
    public static byte[] Constant(Action<BinaryCopyRows> fields)
    {
        var rows = new BinaryCopyRows();
        rows.Clear(); // no header
        fields(rows);
        return rows.Pending.ToArray();
    }

    /// <summary>The end of the data (the file trailer).</summary>
    public void End() => Int16(-1);

    private void Int32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(Space(4), value);
        length += 4;
    }

    private void Int16(short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(Space(2), value);
        length += 2;
    }

    private Span<byte> Space(int bytes)
    {
        if (length + bytes > buffer.Length) Array.Resize(ref buffer, Math.Max(buffer.Length * 2, length + bytes));
        return buffer.AsSpan(length, bytes);
    }
}
