using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// Writes signed gateway response bodies: <c>{"&lt;method_with_underscores&gt;_response":{...},"sign":"..."}</c>.
/// The inner object is serialized once and its exact UTF-8 bytes are signed with the platform key, because the
/// SDK verifies by cutting that text out of the raw body (between the response key and the last <c>"sign"</c>)
/// rather than by re-serializing. Hence: no whitespace, the response key first and <c>sign</c> last.
/// </summary>
/// <remarks>
/// Non-ASCII text is written as raw UTF-8 (not <c>\uXXXX</c>), as Alipay does. The SDK would verify either form,
/// since it slices text, but raw UTF-8 keeps bodies readable and matches what merchants see from Alipay.
/// </remarks>
internal sealed class GatewayResponseWriter
{
    /// <summary>The key Alipay uses when it cannot name the method.</summary>
    public const string ErrorResponseKey = "error_response";

    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
        // Nested objects passed as POCOs or anonymous types get Alipay's snake_case names; dictionary keys and
        // top-level field names are written as given.
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
        SkipValidation = false,
    };

    private static readonly HashSet<string> ReservedFields = new(StringComparer.Ordinal)
    {
        "code", "msg", "sub_code", "sub_msg",
    };

    private readonly RSA _platformPrivateKey;

    /// <param name="platformPrivateKey">The platform key; merchants hold its public half as <c>alipayPublicKey</c>.</param>
    public GatewayResponseWriter(RSA platformPrivateKey)
    {
        ArgumentNullException.ThrowIfNull(platformPrivateKey);
        _platformPrivateKey = platformPrivateKey;
    }

    /// <summary><c>alipay.trade.precreate</c> → <c>alipay_trade_precreate_response</c>.</summary>
    public static string ResponseKeyOf(string method)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (!GatewayRequest.IsWellFormedMethod(method, GatewayRequestOptions.Default.MethodLengthMax))
        {
            throw new ArgumentException("Not a well-formed method name.", nameof(method));
        }

        return method.Replace('.', '_') + "_response";
    }

    /// <summary>
    /// A success body: <c>code</c> 10000 and <c>msg</c> Success, then <paramref name="fields"/> in their
    /// enumeration order. Field names are written as given (use snake_case); values are serialized with
    /// System.Text.Json (strings, numbers, booleans, nested dictionaries, lists, <c>JsonNode</c>s). Amounts must
    /// already be yuan strings (<see cref="AlipayAmount.FormatYuan"/>).
    /// </summary>
    public byte[] WriteSuccess(string method, IEnumerable<KeyValuePair<string, object?>>? fields = null) =>
        Write(ResponseKeyOf(method), GatewayCodes.Success, GatewayErrors.MsgOf(GatewayCodes.Success), null, null,
            fields);

    /// <summary>
    /// A failure body under <c>&lt;method&gt;_response</c> when <paramref name="method"/> is known, which the SDK
    /// can verify; otherwise under <c>error_response</c>, which the SDK cannot verify (it looks for the method's key)
    /// and so rejects when <c>validateSign</c> is on. Business failures may add echo <paramref name="fields"/> such
    /// as <c>out_trade_no</c>.
    /// </summary>
    public byte[] WriteError(string? method, GatewayError error,
        IEnumerable<KeyValuePair<string, object?>>? fields = null)
    {
        if (error.Code == GatewayCodes.Success)
        {
            throw new ArgumentException("A success code is not an error.", nameof(error));
        }

        var key = method is null ? ErrorResponseKey : ResponseKeyOf(method);
        return Write(key, error.Code, error.Msg, error.SubCode, error.SubMsg, fields);
    }

    /// <summary>
    /// A failure body without <c>sign</c>, as Alipay answers a request whose app it does not know (HTTP 200,
    /// <c>{"&lt;method&gt;_response":{code,msg,sub_code,sub_msg}}</c>): nothing to sign for, and no RSA work for it.
    /// </summary>
    public static byte[] WriteUnsignedError(string? method, GatewayError error)
    {
        var key = method is null ? ErrorResponseKey : ResponseKeyOf(method);
        var inner = SerializeInner(error.Code, error.Msg, error.SubCode, error.SubMsg, null);
        var body = new ArrayBufferWriter<byte>(inner.Length + key.Length + 8);
        Append(body, "{\"");
        Append(body, key);
        Append(body, "\":");
        body.Write(inner);
        Append(body, "}");
        return body.WrittenSpan.ToArray();
    }

    private byte[] Write(string responseKey, string code, string msg, string? subCode, string? subMsg,
        IEnumerable<KeyValuePair<string, object?>>? fields)
    {
        var inner = SerializeInner(code, msg, subCode, subMsg, fields);
        var sign = AlipaySignature.Sign(inner, _platformPrivateKey);

        // The envelope is assembled from bytes so the inner object appears in the body exactly as signed.
        var body = new ArrayBufferWriter<byte>(inner.Length + sign.Length + responseKey.Length + 16);
        Append(body, "{\"");
        Append(body, responseKey);
        Append(body, "\":");
        body.Write(inner);
        Append(body, ",\"sign\":\"");
        Append(body, sign);
        Append(body, "\"}");
        return body.WrittenSpan.ToArray();
    }

    private static byte[] SerializeInner(string code, string msg, string? subCode, string? subMsg,
        IEnumerable<KeyValuePair<string, object?>>? fields)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("code", code);
            writer.WriteString("msg", msg);
            // An empty sub_code is 10003's: a code that is neither success nor failure, written without one.
            if (!string.IsNullOrEmpty(subCode))
            {
                writer.WriteString("sub_code", subCode);
                writer.WriteString("sub_msg", subMsg ?? string.Empty);
            }

            if (fields is not null)
            {
                var written = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (name, value) in fields)
                {
                    if (string.IsNullOrEmpty(name) || ReservedFields.Contains(name) || !written.Add(name))
                    {
                        throw new ArgumentException($"Field name '{name}' is empty, reserved or repeated.",
                            nameof(fields));
                    }

                    writer.WritePropertyName(name);
                    JsonSerializer.Serialize(writer, value, value?.GetType() ?? typeof(object), SerializerOptions);
                }
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void Append(ArrayBufferWriter<byte> buffer, string ascii)
    {
        var span = buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(ascii.Length));
        var written = Encoding.UTF8.GetBytes(ascii, span);
        buffer.Advance(written);
    }
}
