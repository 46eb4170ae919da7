using Dapper;
using Qianbao.Server.Storage;
using Qianbao.Server.Storage.PersonalData;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>
/// How <c>merchants</c> stores the legal person's data (migration 0016): <c>licence_no</c> holds the licence's blind index
/// (unique: one licence, one merchant) and <c>licence_enc</c> the licence sealed; <c>legal_person</c> and <c>contact_phone</c>
/// are sealed. The business name is not personal data and stays in clear.
/// </summary>
internal sealed class MerchantData(PersonalDataProtector protector)
{
    public const string Table = "merchants";

    public static SealedTable Sealed => new(Table, "id", ["licence_enc", "legal_person", "contact_phone", "legal_person_id_enc"]);

    /// <summary>The licence as indexed: trimmed, upper case (a unified social credit code is written in capitals).</summary>
    public string LicenceIndex(string licence) => protector.Index(IndexKind.Licence, licence.Trim().ToUpperInvariant());

    public string Seal(Guid merchantId, string column, string plaintext) => protector.Seal(plaintext, new SealedField(Table, column, merchantId));

    /// <summary>A sealed value opened; a value that is not sealed (a row not yet converted) as it is.</summary>
    public string Open(Guid merchantId, string column, string value) =>
        PersonalDataProtector.IsSealed(value) ? protector.Open(value, new SealedField(Table, column, merchantId)) : value;
}

/// <summary>Converts merchants registered before 0016 (no <c>licence_enc</c> yet).</summary>
internal sealed class MerchantsPlaintextUpgrade(Db db, MerchantData data) : IPlaintextUpgrade
{
    public async Task<int> ConvertBatchAsync(int batchMax, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var rows = (await connection.QueryAsync<(Guid Id, string Licence, string LegalPerson, string ContactPhone)>(new CommandDefinition(
            $"SELECT id, licence_no, legal_person, contact_phone FROM merchants WHERE licence_enc IS NULL LIMIT {batchMax}",
            transaction: tx, cancellationToken: ct))).AsList();
        foreach (var m in rows)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE merchants SET licence_no = @licenceIndex, licence_enc = @licence, legal_person = @legal, contact_phone = @phone WHERE id = @merchantId
                """, new
            {
                merchantId = m.Id, licenceIndex = data.LicenceIndex(m.Licence), licence = data.Seal(m.Id, "licence_enc", m.Licence),
                legal = data.Seal(m.Id, "legal_person", m.LegalPerson), phone = data.Seal(m.Id, "contact_phone", m.ContactPhone),
            }, tx, cancellationToken: ct));
        }
        await tx.CommitAsync(ct);
        return rows.Count;
    }
}
