using System.Data.Common;
using System.Security.Cryptography;
using Dapper;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>Reads and creates trade rows. Money never moves here: that is <see cref="TradePayments"/> and the ledger executor.</summary>
internal sealed class TradeStore(Db db)
{
    public async Task<TradeRow?> FindAsync(string tradeNo, CancellationToken ct) =>
        await QueryOneAsync($"SELECT {TradeRow.Columns} FROM trades WHERE trade_no = @tradeNo", new { tradeNo }, ct);

    /// <summary>The trades named in <paramref name="tradeNos"/> that exist, by trade number: one read for a batch of events.</summary>
    public async Task<IReadOnlyDictionary<string, TradeRow>> FindManyAsync(IReadOnlyCollection<string> tradeNos, CancellationToken ct)
    {
        if (tradeNos.Count == 0) return new Dictionary<string, TradeRow>();
        var (condition, ids) = db.Engine == DatabaseEngine.Postgres
            ? ("trade_no = ANY(@ids)", (object)tradeNos.ToArray())
            : ("trade_no IN (SELECT value FROM json_each(@ids))", System.Text.Json.JsonSerializer.Serialize(tradeNos));
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<TradeRow>(new CommandDefinition($"SELECT {TradeRow.Columns} FROM trades WHERE {condition}", new { ids },
            cancellationToken: ct))).ToDictionary(t => t.trade_no, StringComparer.Ordinal);
    }

    public async Task<TradeRow?> FindByOutTradeNoAsync(string appId, string outTradeNo, CancellationToken ct) =>
        await QueryOneAsync($"SELECT {TradeRow.Columns} FROM trades WHERE app_id = @appId AND out_trade_no = @outTradeNo", new { appId, outTradeNo }, ct);

    public async Task<TradeRow?> FindByQrCodeAsync(string qrCode, CancellationToken ct) =>
        await QueryOneAsync($"SELECT {TradeRow.Columns} FROM trades WHERE qr_code = @qrCode", new { qrCode }, ct);

    /// <summary>The trade named by <c>trade_no</c> or <c>out_trade_no</c> for this app (trade_no wins when both are given).</summary>
    public async Task<TradeRow?> FindForAppAsync(string appId, string? tradeNo, string? outTradeNo, CancellationToken ct)
    {
        var trade = tradeNo is not null ? await FindAsync(tradeNo, ct) : outTradeNo is not null ? await FindByOutTradeNoAsync(appId, outTradeNo, ct) : null;
        return trade is not null && trade.app_id == appId ? trade : null;
    }

    /// <summary>
    /// Inserts the trade unless the app already has one with its <c>out_trade_no</c>; returns the stored trade
    /// either way. The unique (app_id, out_trade_no) index decides races: one insert wins, the rest read it.
    /// </summary>
    public async Task<(TradeRow Trade, bool Created)> CreateAsync(TradeRow trade, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var inserted = await connection.ExecuteAsync(new CommandDefinition($"""
            INSERT INTO trades ({TradeRow.Columns}) VALUES (@trade_no, @app_id, @merchant_id, @out_trade_no, @kind, @status, @total_amount,
                @currency, @subject, @body, @buyer_id, @fee_amount, @refunded_amount, @royalty_freeze, @freeze_hold_id, @settled, @notify_url,
                @qr_code, @request_hash, @expires_at_us, @created_at_us, @paid_at_us, @closed_at_us, @last_refund_at_us, @settled_amount, @discount_amount, @points_used, @points_amount, @fee_bps)
            ON CONFLICT (app_id, out_trade_no) DO NOTHING
            """, trade, cancellationToken: ct));
        // Read back on the same connection: taking a second one while holding this one starves the pool.
        var stored = await connection.QuerySingleOrDefaultAsync<TradeRow>(new CommandDefinition(
            $"SELECT {TradeRow.Columns} FROM trades WHERE app_id = @app_id AND out_trade_no = @out_trade_no",
            new { trade.app_id, trade.out_trade_no }, cancellationToken: ct));
        Invariant(stored is not null, "a trade that conflicted on insert must exist");
        return (stored!, inserted == 1);
    }

    /// <summary>Our settlement number for the trade's settle request <paramref name="outRequestNo"/>, or null when there is none.</summary>
    public async Task<string?> FindSettleNoAsync(string tradeNo, string outRequestNo, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            "SELECT settle_no FROM trade_settlements WHERE trade_no = @tradeNo AND out_request_no = @outRequestNo",
            new { tradeNo, outRequestNo }, cancellationToken: ct));
    }

    /// <summary>The refund made under the trade's refund request <paramref name="outRequestNo"/>, or null when there is none.</summary>
    public async Task<RefundRecord?> FindRefundAsync(string tradeNo, string outRequestNo, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<RefundRecord>(new CommandDefinition(
            "SELECT refund_amount AS AmountMinor, created_at_us AS CreatedAtUs FROM trade_refunds WHERE trade_no = @tradeNo AND out_request_no = @outRequestNo",
            new { tradeNo, outRequestNo }, cancellationToken: ct));
    }

    /// <summary>Whether <paramref name="buyerId"/> has paid any trade but <paramref name="exceptTradeNo"/> (a first payment is one made when none is).</summary>
    public async Task<bool> BuyerHasPaidAsync(Guid buyerId, string exceptTradeNo, CancellationToken ct)
    {
        // A paid trade stays paid (paid_at_us is never cleared), so "this buyer has paid trade T" read once, or seen committed by
        // this process, stays true in every process: a payment of another trade needs no read (issue 13: one statement fewer per
        // payment of a returning buyer). Only the answer true is kept; false is always read (another process may have just made it
        // true), and the first-payment guard in the payment's batch still decides. Bounded: cleared when full.
        if (paidTrades.TryGetValue(buyerId, out var known) && known != exceptTradeNo) return true;
        await using var connection = await db.OpenAsync(ct);
        var paid = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT trade_no FROM trades WHERE buyer_id = @buyerId AND paid_at_us IS NOT NULL AND trade_no <> @exceptTradeNo LIMIT 1",
            new { buyerId, exceptTradeNo }, cancellationToken: ct));
        if (paid is null) return false;
        Paid(buyerId, paid);
        return true;
    }

    /// <summary>Notes that <paramref name="buyerId"/> paid <paramref name="tradeNo"/> (committed), for <see cref="BuyerHasPaidAsync"/>.</summary>
    public void Paid(Guid buyerId, string tradeNo)
    {
        // A counter, not paidTrades.Count: ConcurrentDictionary.Count takes every bucket lock (up to 1024 of them), per payment.
        if (!paidTrades.ContainsKey(buyerId) && Interlocked.Increment(ref paidBuyers) > PaidBuyersMax)
        {
            paidTrades.Clear();
            Interlocked.Exchange(ref paidBuyers, 1);
        }
        paidTrades[buyerId] = tradeNo;
    }

    private int paidBuyers;

    /// <summary>Buyers whose paid trade this process knows, at most (about 100 bytes each).</summary>
    private const int PaidBuyersMax = 100_000;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, string> paidTrades = new();

    /// <summary>The app's trades paid in [<paramref name="fromUs"/>, <paramref name="toUs"/>), oldest first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<TradeRow>> PaidBetweenAsync(string appId, long fromUs, long toUs, int limit, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<TradeRow>(new CommandDefinition($"""
            SELECT {TradeRow.Columns} FROM trades WHERE app_id = @appId AND paid_at_us >= @fromUs AND paid_at_us < @toUs ORDER BY paid_at_us LIMIT @limit
            """, new { appId, fromUs, toUs, limit }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Our trade number: the China date and 20 random digits, like Alipay's 28-digit numbers.
    /// Uniqueness is the primary key's job; a collision in 10^20 per day fails the insert loudly.
    /// </summary>
    public static string NewTradeNo(DateTimeOffset now)
    {
        var china = now.ToOffset(TimeSpan.FromHours(8));
        return china.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture)
               + RandomNumberGenerator.GetInt32(0, 1_000_000_000).ToString("D9")
               + RandomNumberGenerator.GetInt32(0, 1_000_000_000).ToString("D9")
               + RandomNumberGenerator.GetInt32(0, 100).ToString("D2");
    }

    private async Task<TradeRow?> QueryOneAsync(string sql, object parameters, CancellationToken ct)
    {
        await using DbConnection connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<TradeRow>(new CommandDefinition(sql, parameters, cancellationToken: ct));
    }

    private static void Invariant(bool condition, string message) => Qianbao.Ledger.Invariant.That(condition, message);
}

/// <summary>A refund of a trade: how much, and when it was made (Unix microseconds).</summary>
internal sealed class RefundRecord
{
    public long AmountMinor { get; init; }
    public long CreatedAtUs { get; init; }
}
