/** ONNX node attributes (onnx-proto's AttributeProto), shared by the model exporter and the native convolutions. */
import { onnx } from 'onnx-proto';

const { AttributeType } = onnx.AttributeProto;

export function ints(name: string, values: number[]): onnx.IAttributeProto {
  return { name, type: AttributeType.INTS, ints: values };
}

export function int(name: string, value: number): onnx.IAttributeProto {
  return { name, type: AttributeType.INT, i: value };
}

export function text(name: string, value: string): onnx.IAttributeProto {
  return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
}

export function float(name: string, value: number): onnx.IAttributeProto {
  return { name, type: AttributeType.FLOAT, f: value };
}
