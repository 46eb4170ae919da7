using System.Buffers.Binary;
using System.Text;
using Qianbao.Ledger;

namespace Qianbao.Server.Money.Ledger;

/// <summary>
/// Transfer rows in PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"),
/// in the column order of <see cref="PostgresLedgerStore"/>'s COPY: network byte order, uuid as its 16 bytes in RFC order, text
/// as UTF-8, NULL as length −1. One buffer per batch, sized for the rows up front (it grows only for long references).
/// </summary>
internal sealed class TransferCopyRows
{
    private const short Columns = 13;

    /// <summary>A row's bytes without its reference: field count, 13 lengths, 4 uuids, 4 int8, 2 int4, 1 int2, a 3-byte currency.</summary>
    private const int RowBytesMax = 2 + Columns * 4 + 4 * 16 + 4 * 8 + 2 * 4 + 2 + 3;

    private byte[] buffer;
    private int length;

    public TransferCopyRows(int rows)
    {
        buffer = new byte[19 + rows * (RowBytesMax + 16) + 2];
        // Signature, flags (no OIDs), header extension length 0.
        "PGCOPY\n"u8.CopyTo(buffer);
        buffer[7] = 0xff;
        buffer[8] = (byte)'\r';
        buffer[9] = (byte)'\n';
        buffer[10] = 0;
        length = 11;
        Int32(0);
        Int32(0);
    }

    public void Add(TransferRecord t)
    {
        Int16(Columns);
        Uuid(t.Id.Value);
        Uuid(t.DebitAccountId.Value);
        Uuid(t.CreditAccountId.Value);
        Int64(t.Amount);
        Text(t.Currency.Code);
        Int32(4);
        Int32(t.Code);
        Int32(4);
        Int32((int)t.Flags);
        if (t.PendingId.IsZero) Int32(-1);
        else Uuid(t.PendingId.Value);
        Int64(t.TimeoutSeconds);
        Text(t.Reference);
        Int64(t.TimestampUs);
        Int32(2);
        Int16((short)t.State);
        Int64(t.ExpiresAtUs);
    }

    /// <summary>The rows with the trailer.</summary>
    public ReadOnlyMemory<byte> Finish()
    {
        Int16(-1);
        return buffer.AsMemory(0, length);
    }

    private void Uuid(Guid value)
    {
        Int32(16);
        value.TryWriteBytes(Space(16), bigEndian: true, out _);
        length += 16;
    }

    private void Int64(long value)
    {
        Int32(8);
        BinaryPrimitives.WriteInt64BigEndian(Space(8), value);
        length += 8;
    }

    private void Text(string? value)
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
