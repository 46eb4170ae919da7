using Qianbao.Ledger;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money.Ledger;

/// <summary>
/// Transfer rows in PostgreSQL's binary COPY format (<see cref="BinaryCopyRows"/>), in the column order of
/// <see cref="PostgresLedgerStore"/>'s COPY. One buffer per batch, sized for the rows up front (it grows only for long references).
/// </summary>
internal sealed class TransferCopyRows
{
    private const short Columns = 13;

    /// <summary>A row's bytes without its reference: field count, 13 lengths, 4 uuids, 4 int8, 2 int4, 1 int2, a 3-byte currency.</summary>
    private const int RowBytesMax = 2 + Columns * 4 + 4 * 16 + 4 * 8 + 2 * 4 + 2 + 3;

    private readonly BinaryCopyRows rows;

    public TransferCopyRows(int rows) => this.rows = new BinaryCopyRows(19 + rows * (RowBytesMax + 16) + 2);

    public void Add(TransferRecord t)
    {
        rows.Row(Columns);
        rows.Uuid(t.Id.Value);
        rows.Uuid(t.DebitAccountId.Value);
        rows.Uuid(t.CreditAccountId.Value);
        rows.Int64(t.Amount);
        rows.Text(t.Currency.Code);
        rows.Int4(t.Code);
        rows.Int4((int)t.Flags);
        if (t.PendingId.IsZero) rows.Null();
        else rows.Uuid(t.PendingId.Value);
        rows.Int64(t.TimeoutSeconds);
        rows.Text(t.Reference);
        rows.Int64(t.TimestampUs);
        rows.Short((short)t.State);
        rows.Int64(t.ExpiresAtUs);
    }

    /// <summary>The rows with the trailer.</summary>
    public ReadOnlyMemory<byte> Finish()
    {
        rows.End();
        return rows.Pending;
    }
}
