using System.Security.Cryptography;
using Dapper;
using QRCoder;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>A merchant a collection code names, as the payment needs it.</summary>
internal sealed record CollectionMerchant(Guid MerchantId, string Name, int FeeBps, bool Verified);

/// <summary>
/// Collection codes (收款码): one static code per verified merchant (<c>merchants.collection_code</c>), 24 lowercase hex digits
/// (96 random bits: printed on a shop's counter, so public, but not guessable from another shop's). The QR code's text is
/// <see cref="QrTextPrefix"/> + the code; a wallet scanning it asks the buyer for the amount and pays
/// <c>POST /v1/collection-codes/{code}/pay</c>. The code is minted when the merchant is verified (and, for merchants verified
/// before codes existed, when first asked for).
/// </summary>
internal sealed class CollectionCodes(Db db)
{
    public const string QrTextPrefix = "https://qr.qianbao.dev/c/";
    public const int CodeLength = 24;

    /// <summary>A pixel size per QR module that prints sharply on a counter card.</summary>
    public const int PixelsPerModule = 10;

    public static string NewCode() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(CodeLength / 2));

    public static bool IsWellFormed(string? code) => code is { Length: CodeLength } && code.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    public static string QrText(string code) => QrTextPrefix + code;

    /// <summary>The QR code of <paramref name="text"/> as a PNG image (error correction M: survives a worn or smudged print).</summary>
    public static byte[] Png(string text)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.M);
        return new PngByteQRCode(data).GetGraphic(PixelsPerModule);
    }

    /// <summary>The verified merchant's code, minted on first use; null when the merchant is not verified.</summary>
    public async Task<string?> EnsureAsync(Guid merchantId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition("""
            UPDATE merchants SET collection_code = COALESCE(collection_code, @code) WHERE id = @merchantId AND status = @verified RETURNING collection_code
            """, new { merchantId, code = NewCode(), verified = MerchantRow.Verified }, cancellationToken: ct));
    }

    /// <summary>The merchant a code names, verified or not (the caller refuses an unverified one), or null for none.</summary>
    public async Task<CollectionMerchant?> FindAsync(string code, CancellationToken ct)
    {
        if (!IsWellFormed(code)) return null;
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<(Guid Id, string Name, int FeeBps, string Status)?>(new CommandDefinition(
            "SELECT id, name, fee_bps, status FROM merchants WHERE collection_code = @code", new { code }, cancellationToken: ct));
        return row is { } m ? new CollectionMerchant(m.Id, m.Name, m.FeeBps, m.Status == MerchantRow.Verified) : null;
    }
}
