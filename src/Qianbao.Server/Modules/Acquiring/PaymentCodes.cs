using System.Security.Cryptography;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// Payment codes: the 18-digit number a buyer shows and a merchant scans (<c>alipay.trade.pay</c>,
/// <c>auth_code</c>). Valid <see cref="LifetimeSeconds"/>, single use: the conditional UPDATE that consumes a
/// code is the only way to spend it, so two merchants scanning one code pay at most one trade.
/// </summary>
internal sealed class PaymentCodes(Db db, TradeStore trades, TimeProvider clock)
{
    public const int LifetimeSeconds = 60;
    public const int DigitCount = 18;

    public async Task<(string Code, DateTimeOffset ExpiresAt)> IssueAsync(Guid userId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var expires = now.AddSeconds(LifetimeSeconds);
        await using var connection = await db.OpenAsync(ct);
        while (true)
        {
            // "28" and 16 random digits: the shape of Alipay's codes (25-30 prefix), so merchant scanners accept them.
            var code = "28" + RandomNumberGenerator.GetInt32(0, 100_000_000).ToString("D8") + RandomNumberGenerator.GetInt32(0, 100_000_000).ToString("D8");
            var inserted = await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO payment_codes (code, user_id, expires_at_us, created_at_us) VALUES (@code, @userId, @expires, @now) ON CONFLICT (code) DO NOTHING
                """, new { code, userId, expires = expires.ToUnixMicroseconds(), now = now.ToUnixMicroseconds() }, cancellationToken: ct));
            if (inserted == 1) return (code, expires);
        }
    }

    /// <summary>Spends the code for (app, out_trade_no); the buyer, or null when the code is unknown, expired or spent.</summary>
    public async Task<Guid?> ConsumeAsync(string code, string appId, string outTradeNo, CancellationToken ct)
    {
        if (code.Length != DigitCount || !code.All(char.IsAsciiDigit)) return null;
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("""
            UPDATE payment_codes SET used_at_us = @now, used_for = @usedFor
            WHERE code = @code AND used_at_us IS NULL AND expires_at_us > @now
            RETURNING user_id
            """, new { code, now = clock.GetUnixMicroseconds(), usedFor = appId + "/" + outTradeNo }, cancellationToken: ct));
    }

    /// <summary>
    /// The buyer of a code already spent on exactly this (app, out_trade_no): a retry of the request that spent it,
    /// possibly still in flight, so its trade may not exist yet. Null for a code spent elsewhere, unknown or unused.
    /// </summary>
    public async Task<Guid?> FindReplayBuyerAsync(string code, string appId, string outTradeNo, CancellationToken ct)
    {
        if (code.Length != DigitCount || !code.All(char.IsAsciiDigit)) return null;
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(
            "SELECT user_id FROM payment_codes WHERE code = @code AND used_for = @usedFor",
            new { code, usedFor = appId + "/" + outTradeNo }, cancellationToken: ct));
    }

    /// <summary>
    /// True when <paramref name="code"/> still authorises a payment attempt at <paramref name="now"/>: it exists and its
    /// lifetime has not run out (<see cref="Modules.Acquiring.PaymentCodeLifetime"/>). Spent or not does not matter here;
    /// a retry of the request that spent it asks this before paying.
    /// </summary>
    public async Task<bool> AuthorisesAttemptAsync(string code, DateTimeOffset now, CancellationToken ct)
    {
        if (code.Length != DigitCount || !code.All(char.IsAsciiDigit)) return false;
        await using var connection = await db.OpenAsync(ct);
        var expiresAtUs = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
            "SELECT expires_at_us FROM payment_codes WHERE code = @code", new { code }, cancellationToken: ct));
        return expiresAtUs is { } expires && Modules.Acquiring.PaymentCodeLifetime.AuthorisesAttempt(expires, now.ToUnixMicroseconds());
    }

    /// <summary>
    /// The trade a merchant's retry of <c>alipay.trade.pay</c> refers to: the code was spent on exactly this
    /// (app, out_trade_no), so the retry continues that trade instead of being refused.
    /// </summary>
    public async Task<TradeRow?> FindTradeReplayAsync(string appId, string outTradeNo, string code, CancellationToken ct)
    {
        await using (var connection = await db.OpenAsync(ct))
        {
            var usedFor = await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
                "SELECT used_for FROM payment_codes WHERE code = @code", new { code }, cancellationToken: ct));
            if (usedFor != appId + "/" + outTradeNo) return null;
        }
        return await trades.FindByOutTradeNoAsync(appId, outTradeNo, ct);
    }
}
