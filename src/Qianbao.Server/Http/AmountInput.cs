using System.Text.Json;
using Qianbao.Ledger;

namespace Qianbao.Server.Http;

/// <summary>
/// Strict parsing of the native API's money fields: <c>amount</c> is a JSON integer of minor units,
/// 1..<see cref="AmountMaxMinor"/>; <c>currency</c> a known ISO 4217 code (default CNY; never the points unit PTS, see <see cref="Currency.IsMoney"/>). Fractions,
/// strings, exponents that do not denote an integer, zero, negatives and overflow are 400 <c>invalid_amount</c>.
/// </summary>
public static class AmountInput
{
    /// <summary>
    /// Most one operation may move: 10^10 minor units (100,000,000.00 CNY, the gateway's cap too). It keeps every
    /// balance, shared clearing accounts included, astronomically far from overflow, and a typo from moving a fortune.
    /// </summary>
    public const long AmountMaxMinor = 10_000_000_000;

    public static IResult? TryParse(JsonElement? amount, string? currency, out long amountMinor, out Currency parsedCurrency)
    {
        amountMinor = 0;
        parsedCurrency = Currency.Cny;
        if (currency is not null)
        {
            // Points (PTS) are a ledger unit but not money: no one tops them up, transfers or withdraws them.
            if (!Currency.TryParse(currency, out var c) || !c.Value.IsMoney)
                return ApiProblem.BadRequest("invalid_currency", "currency must be a supported ISO 4217 code such as CNY.");
            parsedCurrency = c.Value;
        }
        if (amount is not { ValueKind: JsonValueKind.Number } number || !number.TryGetInt64(out amountMinor))
            return ApiProblem.BadRequest("invalid_amount", "amount must be an integer number of minor units (fen for CNY).");
        if (amountMinor is <= 0 or > AmountMaxMinor)
            return ApiProblem.BadRequest("invalid_amount", $"amount must be 1..{AmountMaxMinor} minor units.");
        return null;
    }
}
