using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Alipay;

public sealed class PlatformKeyRingTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "qianbao-keyring-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void An_empty_directory_gets_key_1_as_a_pkcs8_pem_file()
    {
        using var ring = PlatformKeyRing.LoadOrCreate(_directory);

        ring.Current.KeyId.ShouldBe("1");
        ring.Current.PrivateKey.KeySize.ShouldBe(2048);
        var pem = File.ReadAllText(Path.Combine(_directory, "platform-key-1.pem"));
        pem.ShouldStartWith("-----BEGIN PRIVATE KEY-----");
        Directory.GetFiles(_directory).Length.ShouldBe(1);
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(Path.Combine(_directory, "platform-key-1.pem"))
                .ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [Fact]
    public void Reloading_finds_the_same_key()
    {
        string publicKey;
        using (var ring = PlatformKeyRing.LoadOrCreate(_directory))
        {
            publicKey = ring.Current.PublicKeyBase64;
        }

        using var again = PlatformKeyRing.LoadOrCreate(_directory);
        again.Current.KeyId.ShouldBe("1");
        again.Current.PublicKeyBase64.ShouldBe(publicKey);
    }

    [Fact]
    public void Rotation_makes_a_new_current_key_and_keeps_the_old_one()
    {
        using var ring = PlatformKeyRing.LoadOrCreate(_directory);
        var old = ring.Current;

        var rotated = ring.Rotate();

        rotated.KeyId.ShouldBe("2");
        ring.Current.ShouldBeSameAs(rotated);
        rotated.PublicKeyBase64.ShouldNotBe(old.PublicKeyBase64);
        ring.Keys.Select(k => k.KeyId).ShouldBe(["1", "2"]);
        ring.TryGet("1", out var found).ShouldBeTrue();
        found.ShouldBeSameAs(old);

        using var reloaded = PlatformKeyRing.LoadOrCreate(_directory);
        reloaded.Current.KeyId.ShouldBe("2");
        reloaded.Current.PublicKeyBase64.ShouldBe(rotated.PublicKeyBase64);
    }

    [Fact]
    public void Current_is_the_largest_id_numerically()
    {
        using (var ring = PlatformKeyRing.LoadOrCreate(_directory))
        {
            for (var i = 0; i < 9; i++)
            {
                ring.Rotate();
            }
        }

        using var reloaded = PlatformKeyRing.LoadOrCreate(_directory);
        reloaded.Current.KeyId.ShouldBe("10");
    }

    [Fact]
    public void Keys_sign_verifiably_with_their_published_public_key()
    {
        using var ring = PlatformKeyRing.LoadOrCreate(_directory);
        using var publicKey = AlipayKeys.ImportPublicKey(ring.Current.PublicKeyBase64);

        AlipaySignature.Verify("x", AlipaySignature.Sign("x", ring.Current.PrivateKey), publicKey).ShouldBeTrue();
    }

    [Theory]
    [InlineData("0")]
    [InlineData("01")]
    [InlineData("abc")]
    [InlineData("")]
    public void Unknown_ids_are_not_found(string keyId)
    {
        using var ring = PlatformKeyRing.LoadOrCreate(_directory);
        ring.TryGet(keyId, out var key).ShouldBeFalse();
        key.ShouldBeNull();
    }

    [Fact]
    public void Files_without_an_integer_id_are_ignored_but_a_corrupt_key_stops_loading()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "platform-key-backup.pem"), "not a key");
        using (var ring = PlatformKeyRing.LoadOrCreate(_directory))
        {
            ring.Current.KeyId.ShouldBe("1");
        }

        File.WriteAllText(Path.Combine(_directory, "platform-key-7.pem"), "not a key");
        Should.Throw<InvalidDataException>(() => PlatformKeyRing.LoadOrCreate(_directory));
    }
}
