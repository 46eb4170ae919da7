using System.Security.Cryptography;
using Qianbao.Server.Storage.PersonalData;

namespace Qianbao.Server.Tests.Identity;

/// <summary>Sealing and blind indexes without a database: round trip, key ids, fields bound, rotation readable.</summary>
public sealed class PersonalDataProtectorTests
{
    private static readonly DataKey K1 = new("k1", RandomNumberGenerator.GetBytes(32));
    private static readonly DataKey K2 = new("k2", RandomNumberGenerator.GetBytes(32));
    private static readonly byte[] IndexKey = RandomNumberGenerator.GetBytes(32);
    private static readonly SealedField Name = new("users", "name", Guid.CreateVersion7());

    private static PersonalDataProtector Ring(params DataKey[] keys) => new(new DataKeyRing(keys, IndexKey));

    [Fact]
    public void A_sealed_value_opens_to_the_same_text_and_names_its_key()
    {
        var protector = Ring(K1);
        var sealedValue = protector.Seal("欧阳娜娜", Name);
        sealedValue.ShouldStartWith("v1.k1.");
        sealedValue.ShouldNotContain("欧阳");
        PersonalDataProtector.KeyIdOf(sealedValue).ShouldBe("k1");
        protector.Open(sealedValue, Name).ShouldBe("欧阳娜娜");
        protector.Seal("欧阳娜娜", Name).ShouldNotBe(sealedValue, "a fresh nonce each time");
    }

    [Fact]
    public void A_value_moved_to_another_row_or_column_or_changed_does_not_open()
    {
        var protector = Ring(K1);
        var sealedValue = protector.Seal("+8613800138000", Name);
        Should.Throw<SealedValueException>(() => protector.Open(sealedValue, Name with { RowId = Guid.CreateVersion7() }));
        Should.Throw<SealedValueException>(() => protector.Open(sealedValue, Name with { Column = "identity_name" }));
        var parts = sealedValue.Split('.');
        var flipped = parts[3][..^2] + (parts[3][^2] == 'A' ? 'B' : 'A') + parts[3][^1];
        Should.Throw<SealedValueException>(() => protector.Open(string.Join('.', parts[0], parts[1], parts[2], flipped), Name));
        Should.Throw<SealedValueException>(() => protector.Open("plain text", Name));
    }

    [Fact]
    public void After_a_rotation_new_values_use_the_new_key_and_old_ones_still_open_until_the_old_key_is_removed()
    {
        var old = Ring(K1).Seal("李磊", Name);
        var rotated = Ring(K2, K1);
        rotated.Seal("李磊", Name).ShouldStartWith("v1.k2.");
        rotated.Open(old, Name).ShouldBe("李磊");
        Should.Throw<SealedValueException>(() => Ring(K2).Open(old, Name)).Message.ShouldContain("'k1'");
    }

    [Fact]
    public void A_blind_index_is_stable_keyed_and_kind_separated()
    {
        var a = Ring(K1);
        var b = Ring(K2, K1);
        a.Index(IndexKind.Phone, "+8613800138000").ShouldBe(b.Index(IndexKind.Phone, "+8613800138000"), "data-key rotation keeps indexes");
        a.Index(IndexKind.Phone, "+8613800138000").ShouldNotBe(a.Index(IndexKind.IdNumber, "+8613800138000"));
        a.Index(IndexKind.Phone, "+8613800138000").ShouldNotBe(new PersonalDataProtector(new DataKeyRing([K1], RandomNumberGenerator.GetBytes(32)))
            .Index(IndexKind.Phone, "+8613800138000"));
        a.Index(IndexKind.Phone, "+8613800138000").ShouldMatch("^[0-9a-f]{64}$");
    }

    [Theory]
    [InlineData("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,k0:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=", null)]
    [InlineData("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,k1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=", "lists key id 'k1' twice")]
    [InlineData("k1:AAEC", "key 'k1' must be 32 bytes in base64")]
    [InlineData(":AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "must be id:base64 entries")]
    public void The_key_list_syntax(string text, string? problem)
    {
        var found = DataKeyRing.TryParseKeys(text, out var keys);
        if (problem is null) { found.ShouldBeNull(); keys.Select(k => k.Id).ShouldBe(["k1", "k0"]); }
        else found.ShouldNotBeNull().ShouldContain(problem);
    }
}
