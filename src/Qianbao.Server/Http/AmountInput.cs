using System.Text.Json;
using Qianbao.Ledger;

namespace Qianbao.Server.Http;

/// <summary>
/// Strict parsing of the native API's money fields: <c>amount</c> is a JSON integer of minor units,
/// 1..<see cref="long.MaxValue"/>; <c>currency</c> a known ISO 4217 code (default CNY). Fractions,
/// strings, exponents that do not denote an integer, zero, negatives and overflow are 400 <c>invalid_amount</c>.
/// </summary>
public static class AmountInput
{
    public static IResult? TryParse(JsonElement? amount, string? currency, out long amountMinor, out Currency parsedCurrency)
    {
        amountMinor = 0;
        parsedCurrency = Currency.Cny;
        if (currency is not null)
        {
            if (!Currency.TryParse(currency, out var c))
                return ApiProblem.BadRequest("invalid_currency", "currency must be a supported ISO 4217 code such as CNY.");
            parsedCurrency = c.Value;
        }
        if (amount is not { ValueKind: JsonValueKind.Number } number || !number.TryGetInt64(out amountMinor))
            return ApiProblem.BadRequest("invalid_amount", "amount must be an integer number of minor units (fen for CNY).");
        if (amountMinor <= 0)
            return ApiProblem.BadRequest("invalid_amount", "amount must be at least 1 minor unit.");
        return null;
    }
}
