using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>One platform signing key and its id. Owns the <see cref="RSA"/> object.</summary>
public sealed class PlatformKey : IDisposable
{
    internal PlatformKey(string keyId, RSA privateKey)
    {
        KeyId = keyId;
        PrivateKey = privateKey;
        PublicKeyBase64 = AlipayKeys.ExportPublicKeyBase64(privateKey);
    }

    /// <summary>A positive decimal integer as text ("1", "2", ...); a larger id is a newer key.</summary>
    public string KeyId { get; }

    /// <summary>The private key; signs responses and notifications.</summary>
    public RSA PrivateKey { get; }

    /// <summary>
    /// The public key as bare Base64 SubjectPublicKeyInfo: what a merchant configures as the SDK's
    /// <c>alipayPublicKey</c>.
    /// </summary>
    public string PublicKeyBase64 { get; }

    public void Dispose() => PrivateKey.Dispose();
}

/// <summary>
/// The platform's RSA signing keys, stored as PKCS#8 PEM files <c>platform-key-&lt;kid&gt;.pem</c> in one
/// directory. The key with the largest id is current; older keys stay loaded so a key id seen in old records can
/// still be resolved. Thread-safe.
/// </summary>
public sealed class PlatformKeyRing : IDisposable
{
    /// <summary>Modulus size of generated keys; what Alipay uses and the SDK expects.</summary>
    public const int GeneratedKeySizeBits = 2048;

    private const string FilePrefix = "platform-key-";
    private const string FileSuffix = ".pem";

    /// <summary>Bounds the directory scan; a ring with more keys than this is an operational mistake.</summary>
    private const int KeyCountMax = 1000;

    private readonly string _directory;
    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, PlatformKey> _keys;
    private volatile PlatformKey _current;

    private PlatformKeyRing(string directory, SortedDictionary<long, PlatformKey> keys)
    {
        _directory = directory;
        _keys = keys;
        _current = keys.Last().Value;
    }

    /// <summary>The key new signatures are made with.</summary>
    public PlatformKey Current => _current;

    /// <summary>Every loaded key, oldest first.</summary>
    public IReadOnlyList<PlatformKey> Keys
    {
        get
        {
            lock (_lock)
            {
                return _keys.Values.ToList();
            }
        }
    }

    /// <summary>
    /// Loads every <c>platform-key-&lt;kid&gt;.pem</c> in <paramref name="directory"/> (creating the directory if
    /// needed) and generates key "1" when there is none. Throws <see cref="InvalidDataException"/> for a key file
    /// that is not an RSA private key, because signing with a half-loaded ring would be worse than not starting.
    /// Files whose name does not carry a positive integer id are ignored.
    /// </summary>
    public static PlatformKeyRing LoadOrCreate(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory.CreateDirectory(directory);
        var keys = new SortedDictionary<long, PlatformKey>();
        foreach (var path in Directory.EnumerateFiles(directory, FilePrefix + "*" + FileSuffix).Take(KeyCountMax + 1))
        {
            if (keys.Count >= KeyCountMax)
            {
                throw new InvalidDataException($"More than {KeyCountMax} platform keys in {directory}.");
            }

            var name = Path.GetFileName(path);
            var idText = name[FilePrefix.Length..^FileSuffix.Length];
            if (!TryParseKeyId(idText, out var id))
            {
                continue;
            }

            if (!AlipayKeys.TryImportPrivateKey(File.ReadAllText(path), out var rsa))
            {
                throw new InvalidDataException($"{name} is not an RSA private key of 2048..4096 bits.");
            }

            keys.Add(id, new PlatformKey(FormatKeyId(id), rsa));
        }

        if (keys.Count == 0)
        {
            var (id, key) = CreateKeyFile(directory, 1);
            keys.Add(id, key);
        }

        return new PlatformKeyRing(directory, keys);
    }

    /// <summary>Finds a key by id; false when the ring does not hold it.</summary>
    public bool TryGet(string keyId, [NotNullWhen(true)] out PlatformKey? key)
    {
        key = null;
        if (!TryParseKeyId(keyId, out var id))
        {
            return false;
        }

        lock (_lock)
        {
            return _keys.TryGetValue(id, out key);
        }
    }

    /// <summary>
    /// Generates a new 2048-bit key with the next id, writes it durably, and makes it current. The old keys are
    /// kept. Merchants must be given the new public key before responses signed with it reach them.
    /// </summary>
    public PlatformKey Rotate()
    {
        lock (_lock)
        {
            var (id, key) = CreateKeyFile(_directory, checked(_keys.Keys.Last() + 1));
            _keys.Add(id, key);
            _current = key;
            return key;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var key in _keys.Values)
            {
                key.Dispose();
            }

            _keys.Clear();
        }
    }

    private static (long Id, PlatformKey Key) CreateKeyFile(string directory, long firstId)
    {
        var rsa = RSA.Create(GeneratedKeySizeBits);
        try
        {
            var pem = rsa.ExportPkcs8PrivateKeyPem();
            var temp = Path.Combine(directory, $".{FilePrefix}{Guid.NewGuid():N}.tmp");
            WriteDurably(temp, pem);
            try
            {
                // Another process may rotate the same directory at the same time; never overwrite its key, take the
                // next free id instead. Bounded: each failed attempt means another key file exists.
                for (var id = firstId; id < firstId + KeyCountMax; id++)
                {
                    var path = Path.Combine(directory, FilePrefix + FormatKeyId(id) + FileSuffix);
                    if (File.Exists(path))
                    {
                        continue;
                    }

                    try
                    {
                        File.Move(temp, path, overwrite: false);
                        return (id, new PlatformKey(FormatKeyId(id), rsa));
                    }
                    catch (IOException) when (File.Exists(path))
                    {
                        // Lost the race for this id; try the next.
                    }
                }

                throw new InvalidOperationException($"No free platform key id in {directory}.");
            }
            finally
            {
                File.Delete(temp);
            }
        }
        catch
        {
            rsa.Dispose();
            throw;
        }
    }

    private static void WriteDurably(string path, string contents)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // A private key file readable by other users would leak the platform's signing power.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        using (var writer = new StreamWriter(stream, leaveOpen: true))
        {
            writer.Write(contents);
        }

        // A key whose public half was handed out must survive a crash.
        stream.Flush(flushToDisk: true);
    }

    private static bool TryParseKeyId(string text, out long id) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id > 0
        && FormatKeyId(id) == text;

    private static string FormatKeyId(long id) => id.ToString(CultureInfo.InvariantCulture);
}
