using Dapper;
using Qianbao.Server.Storage;
using Qianbao.Server.Storage.PersonalData;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// How Identity stores personal data (migration 0016): the phone as a blind index in <c>users.phone</c> (unique, what lookups
/// match) and sealed in <c>phone_enc</c>; names (<c>name</c>, <c>identity_name</c>) and the ID number
/// (<c>identity_number_enc</c>) sealed; the ID number's blind index in <c>identity_number_hash</c>; verifications and rate
/// counters name a phone by its blind index only. Values are opened here, in Identity, and masked before they leave it
/// (except for the holder's own export and an audited operator reveal).
/// </summary>
internal sealed class UserData(PersonalDataProtector protector, IdentityKeys keys)
{
    public const string Table = "users";

    /// <summary>The sealed columns of <c>users</c>, for the re-encryption pass after a key rotation.</summary>
    public static SealedTable Sealed => new(Table, "id", ["name", "phone_enc", "identity_name", "identity_number_enc"]);

    /// <summary>The blind index of a phone normalised by <see cref="PhoneNumber.TryNormalize"/>.</summary>
    public string PhoneIndex(string e164) => protector.Index(IndexKind.Phone, e164);

    /// <summary>The blind index of a resident ID number (as <see cref="ResidentIdNumber.Value"/> spells it).</summary>
    public string IdNumberIndex(string number) => protector.Index(IndexKind.IdNumber, number);

    /// <summary>
    /// Whether <paramref name="storedHash"/> (<c>identity_number_hash</c>) is <paramref name="number"/>'s: its blind index, or
    /// for identities verified before 0016 the older keyed hash (its key is in the database; the index key is not).
    /// </summary>
    public bool IdNumberMatches(string number, string storedHash) =>
        IdentityKeys.Same(IdNumberIndex(number), storedHash) || IdentityKeys.Same(LegacyIdNumberHash(number), storedHash);

    /// <summary>The keyed hash identities verified before 0016 are stored under; lookups try it too.</summary>
    public string LegacyIdNumberHash(string number) => IdentityKeys.Hash(keys.IdentityNumbers, number);

    public string Seal(Guid userId, string column, string plaintext) => protector.Seal(plaintext, new SealedField(Table, column, userId));

    public string? SealOrNull(Guid userId, string column, string? plaintext) =>
        plaintext is null ? null : protector.Seal(plaintext, new SealedField(Table, column, userId));

    /// <summary>Opens a sealed value of the user's row; null stays null, and an erased value (not sealed: a closed account's) reads as null.</summary>
    public string? Open(Guid userId, string column, string? value) =>
        PersonalDataProtector.IsSealed(value) ? protector.Open(value!, new SealedField(Table, column, userId)) : null;
}

/// <summary>
/// Converts <c>users</c> and <c>verifications</c> rows written before 0016 (a phone in clear text starts with <c>+</c>; an
/// index is hex): the phone becomes its index and is sealed, the names are sealed.
/// </summary>
internal sealed class IdentityPlaintextUpgrade(Db db, UserData data) : IPlaintextUpgrade
{
    public async Task<int> ConvertBatchAsync(int batchMax, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var users = (await connection.QueryAsync<(Guid Id, string Phone, string Name, string? IdentityName)>(new CommandDefinition(
            $"SELECT id, phone, name, identity_name FROM users WHERE phone LIKE '+%' LIMIT {batchMax}", transaction: tx, cancellationToken: ct))).AsList();
        foreach (var u in users)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE users SET phone = @phoneIndex, phone_enc = @phoneEnc, name = @name, identity_name = @identityName WHERE id = @userId AND phone = @clearPhone
                """, new
            {
                userId = u.Id, clearPhone = u.Phone, phoneIndex = data.PhoneIndex(u.Phone), phoneEnc = data.Seal(u.Id, "phone_enc", u.Phone),
                name = data.Seal(u.Id, "name", u.Name), identityName = data.SealOrNull(u.Id, "identity_name", u.IdentityName),
            }, tx, cancellationToken: ct));
        }
        var verifications = (await connection.QueryAsync<(Guid Id, string Phone)>(new CommandDefinition(
            $"SELECT id, phone FROM verifications WHERE phone LIKE '+%' LIMIT {batchMax}", transaction: tx, cancellationToken: ct))).AsList();
        foreach (var v in verifications)
        {
            await connection.ExecuteAsync(new CommandDefinition("UPDATE verifications SET phone = @phoneIndex WHERE id = @verificationId",
                new { verificationId = v.Id, phoneIndex = data.PhoneIndex(v.Phone) }, tx, cancellationToken: ct));
        }
        await tx.CommitAsync(ct);
        return users.Count + verifications.Count;
    }
}
